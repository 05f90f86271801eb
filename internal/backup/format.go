package backup

import (
	"bytes"
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"time"
	"unicode/utf16"
)

// FormatVersion is the archive format this package writes and reads.
const FormatVersion = 1

// Errors. Read, Inspect and Verify return errors that wrap exactly one of
// the first eight (test with errors.Is); their messages are written for
// the person who chose the file.
var (
	// ErrNotBackup: the file does not start with the archive magic.
	ErrNotBackup = errors.New("backup: not a Meridian backup")
	// ErrABF: the file is an Analysis Services backup.
	ErrABF = errors.New("backup: a Microsoft Analysis Services backup (.abf) cannot be restored by Meridian")
	// ErrVersion: an archive format this build does not read.
	ErrVersion = errors.New("backup: unsupported backup format version")
	// ErrPasswordRequired: the archive is encrypted and no password was given.
	ErrPasswordRequired = errors.New("backup: the backup is encrypted: a password is required")
	// ErrWrongPassword: the password does not open the archive.
	ErrWrongPassword = errors.New("backup: the password is wrong")
	// ErrTruncated: the file ends before the archive does.
	ErrTruncated = errors.New("backup: the backup is truncated")
	// ErrCorrupt: a checksum, an authentication tag or the structure is
	// wrong; the message names the record or object.
	ErrCorrupt = errors.New("backup: the backup is damaged")
	// ErrTrailingData: bytes follow the archive's final record.
	ErrTrailingData = errors.New("backup: unexpected data after the end of the backup")

	// ErrInvalidOptions: Write or Read was given unusable options or a
	// manifest that does not check.
	ErrInvalidOptions = errors.New("backup: invalid options")
)

// magic starts every archive. The first byte is not ASCII and the CR LF
// and SUB bytes catch transfers that rewrite line ends, as in PNG.
var magic = [8]byte{0x89, 'M', 'B', 'A', 'K', '\r', '\n', 0x1a}

// endMarker closes the trailer.
var endMarker = [8]byte{'M', 'B', 'A', 'K', '-', 'E', 'N', 'D'}

// Header flags.
const (
	flagCompressed = 1 << 0
	flagEncrypted  = 1 << 1
	knownFlags     = flagCompressed | flagEncrypted
)

// Header layout.
const (
	headerPrefixLen = 16 // magic, version, flags, header length
	headerFixedLen  = 20 // ... and the record size
	cryptBlockLen   = 60 // cipher, KDF and its parameters, salt, key check
	headerSumLen    = 32 // SHA-256 of the bytes before it
	headerPlainLen  = headerFixedLen + headerSumLen
	headerCryptLen  = headerFixedLen + cryptBlockLen + headerSumLen
	saltLen         = 32
	keyCheckLen     = 16
	cipherAES256GCM = 1
	kdfArgon2id     = 1
	argon2Version   = 0x13
)

// Record sizes.
const (
	// DefaultRecordSize is the plaintext size of a record.
	DefaultRecordSize = 1 << 20
	// MinRecordSize and MaxRecordSize bound WriteOptions.RecordSize and
	// what a reader accepts.
	MinRecordSize = 256
	MaxRecordSize = 16 << 20

	recordFinal   = 1 << 31
	crcLen        = 4
	tagLen        = 16 // AES-GCM
	recordPrefix  = 4
	maxRecordTail = tagLen
)

// Logical stream tags.
const (
	tagManifest = 'M'
	tagMetadata = 'D'
	tagObject   = 'O'
	tagTrailer  = 'T'

	encodingNone = 0
	encodingZstd = 1

	// trailerLen is the size of the final record's plaintext.
	trailerLen = 1 + 8 + 8 + 8 + 8 + 32 + 8

	maxKindLen     = 255
	maxMetadataLen = 64 << 10
)

// Limits a reader applies unless ReadOptions say otherwise.
const (
	DefaultMaxManifestBytes = 64 << 20
	DefaultMaxObjectSize    = 16 << 30
	DefaultMaxKDFMemoryKiB  = 1 << 20 // 1 GiB
	maxKDFTime              = 64
)

// KDFParams are the argon2id parameters that turn a password into the
// archive key. They are recorded in the header, so a reader needs only
// the password.
type KDFParams struct {
	Time      uint32 // passes over memory
	MemoryKiB uint32 // memory in KiB
	Threads   uint8  // lanes
}

// DefaultKDF follows RFC 9106's second recommended option: t=3, 64 MiB,
// four lanes. Deriving the key takes a fraction of a second, once per
// backup or restore, and makes guessing passwords expensive.
var DefaultKDF = KDFParams{Time: 3, MemoryKiB: 64 << 10, Threads: 4}

func (p KDFParams) check(maxMemKiB uint32) error {
	switch {
	case p.Time < 1 || p.Time > maxKDFTime:
		return fmt.Errorf("argon2 time %d out of range 1..%d", p.Time, maxKDFTime)
	case p.Threads < 1:
		return fmt.Errorf("argon2 threads %d out of range 1..255", p.Threads)
	case p.MemoryKiB < 8*uint32(p.Threads):
		return fmt.Errorf("argon2 memory %d KiB below 8 KiB per thread", p.MemoryKiB)
	case p.MemoryKiB > maxMemKiB:
		return fmt.Errorf("argon2 memory %d KiB above the limit of %d KiB", p.MemoryKiB, maxMemKiB)
	case uint64(p.Time)*uint64(p.MemoryKiB) > maxKDFWork:
		return fmt.Errorf("argon2 time %d × memory %d KiB above the limit of %d", p.Time, p.MemoryKiB, maxKDFWork)
	}
	return nil
}

// maxKDFWork bounds time × memory, sixteen times the default's: a
// header (whose checksum anyone can compute) must not make a reader
// spend minutes deriving a key before the password can be checked.
const maxKDFWork = 16 * 3 * 64 << 10

// header is the archive's cleartext header.
type header struct {
	flags      uint16
	recordSize uint32
	kdf        KDFParams
	salt       [saltLen]byte
	keyCheck   [keyCheckLen]byte
	raw        []byte   // the header's bytes, checksum included
	sum        [32]byte // its checksum, which records bind to
}

func (h *header) compressed() bool { return h.flags&flagCompressed != 0 }
func (h *header) encrypted() bool  { return h.flags&flagEncrypted != 0 }

// marshal lays the header out and fills raw and sum.
func (h *header) marshal() {
	n := headerPlainLen
	if h.encrypted() {
		n = headerCryptLen
	}
	b := make([]byte, n)
	copy(b, magic[:])
	binary.LittleEndian.PutUint16(b[8:], FormatVersion)
	binary.LittleEndian.PutUint16(b[10:], h.flags)
	binary.LittleEndian.PutUint32(b[12:], uint32(n))
	binary.LittleEndian.PutUint32(b[16:], h.recordSize)
	if h.encrypted() {
		c := b[headerFixedLen:]
		c[0] = cipherAES256GCM
		c[1] = kdfArgon2id
		c[2] = argon2Version
		c[3] = h.kdf.Threads
		binary.LittleEndian.PutUint32(c[4:], h.kdf.Time)
		binary.LittleEndian.PutUint32(c[8:], h.kdf.MemoryKiB)
		copy(c[12:], h.salt[:])
		copy(c[12+saltLen:], h.keyCheck[:])
	}
	h.sum = sha256.Sum256(b[:n-headerSumLen])
	copy(b[n-headerSumLen:], h.sum[:])
	h.raw = b
}

// readHeader reads and checks the header. It tells apart a file that is
// not an archive (or is an .abf), an archive of another version, a short
// file and a damaged header.
func readHeader(r io.Reader, maxKDFMemKiB uint32) (*header, error) {
	pre := make([]byte, headerPrefixLen)
	n, err := io.ReadFull(r, pre)
	if err != nil {
		if err != io.EOF && err != io.ErrUnexpectedEOF {
			return nil, fmt.Errorf("read header: %w", err)
		}
		pre = pre[:n]
		switch {
		case isABF(pre):
			return nil, ErrABF
		case n == 0:
			return nil, fmt.Errorf("%w after 0 bytes (the file is empty)", ErrTruncated)
		case !bytes.HasPrefix(magic[:], pre[:min(n, len(magic))]):
			return nil, ErrNotBackup
		}
		return nil, fmt.Errorf("%w after %d bytes", ErrTruncated, n)
	}
	if !bytes.Equal(pre[:8], magic[:]) {
		if isABF(pre) {
			return nil, ErrABF
		}
		return nil, ErrNotBackup
	}
	if v := binary.LittleEndian.Uint16(pre[8:]); v != FormatVersion {
		return nil, fmt.Errorf("%w %d (this build reads version %d)", ErrVersion, v, FormatVersion)
	}
	h := &header{flags: binary.LittleEndian.Uint16(pre[10:])}
	size := binary.LittleEndian.Uint32(pre[12:])
	want := uint32(headerPlainLen)
	if h.encrypted() {
		want = headerCryptLen
	}
	// A damaged flags or length field shows up here or in the checksum
	// below; either way the header is reported damaged, not misread.
	if h.flags&^knownFlags != 0 || size != want {
		return nil, fmt.Errorf("%w: the header (bytes 0 to %d) is invalid: flags %#x, length %d", ErrCorrupt, headerPrefixLen, h.flags, size)
	}
	b := make([]byte, size)
	copy(b, pre)
	if n, err := io.ReadFull(r, b[headerPrefixLen:]); err != nil {
		if err == io.EOF || err == io.ErrUnexpectedEOF {
			return nil, fmt.Errorf("%w after %d bytes", ErrTruncated, headerPrefixLen+n)
		}
		return nil, fmt.Errorf("read header: %w", err)
	}
	h.sum = sha256.Sum256(b[:size-headerSumLen])
	if !bytes.Equal(h.sum[:], b[size-headerSumLen:]) {
		return nil, fmt.Errorf("%w: the header (bytes 0 to %d) does not match its checksum", ErrCorrupt, size)
	}
	h.raw = b
	h.recordSize = binary.LittleEndian.Uint32(b[16:])
	if h.recordSize < MinRecordSize || h.recordSize > MaxRecordSize {
		return nil, fmt.Errorf("%w: record size %d out of range %d..%d", ErrCorrupt, h.recordSize, MinRecordSize, MaxRecordSize)
	}
	if h.encrypted() {
		c := b[headerFixedLen:]
		if c[0] != cipherAES256GCM || c[1] != kdfArgon2id || c[2] != argon2Version {
			return nil, fmt.Errorf("%w: unknown cipher %d or key derivation %d (version %#x)", ErrCorrupt, c[0], c[1], c[2])
		}
		h.kdf = KDFParams{Threads: c[3], Time: binary.LittleEndian.Uint32(c[4:]), MemoryKiB: binary.LittleEndian.Uint32(c[8:])}
		if err := h.kdf.check(maxKDFMemKiB); err != nil {
			return nil, fmt.Errorf("%w: key derivation: %v", ErrCorrupt, err)
		}
		copy(h.salt[:], c[12:])
		copy(h.keyCheck[:], c[12+saltLen:])
	}
	return h, nil
}

// abfSignatures are how Analysis Services backups begin: uncompressed
// ones with a UTF-16 byte-order mark and "STREAM_STORAGE_SIGNATURE_...",
// XPress9-compressed ones (as inside Power BI files) with a UTF-16
// sentence naming the compression.
var abfSignatures = [][]byte{
	append([]byte{0xff, 0xfe}, utf16le("STREAM_STORAGE_SIGNATURE_)!@#$%^&*(")...),
	utf16le("This backup was created using "),
}

func utf16le(s string) []byte {
	var b []byte
	for _, u := range utf16.Encode([]rune(s)) {
		b = binary.LittleEndian.AppendUint16(b, u)
	}
	return b
}

// isABF reports whether b (the first bytes of a file, at least 8 to
// decide) begins like an Analysis Services backup.
func isABF(b []byte) bool {
	if len(b) < 8 {
		return false
	}
	for _, sig := range abfSignatures {
		if bytes.HasPrefix(sig, b[:min(len(b), len(sig))]) {
			return true
		}
	}
	return false
}

// Metadata describes where an archive came from. It is stored in the
// archive (encrypted with it) and, when written to a blob store, also as
// the blob's metadata so that listings need not open the archive.
type Metadata struct {
	// Server is the name of the server that wrote the archive.
	Server string `json:"server,omitempty"`
	// Created is when the archive was written (UTC).
	Created time.Time `json:"created"`
	// MeridianVersion is the version of the binary that wrote it.
	MeridianVersion string `json:"meridianVersion,omitempty"`
	// Database is the name of the database backed up.
	Database string `json:"database"`
	// Labels are free-form keys and values, such as the schedule that
	// took the backup. Keys are [a-z][a-z0-9_]*.
	Labels map[string]string `json:"labels,omitempty"`
}
