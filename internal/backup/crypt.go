package backup

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/hkdf"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/binary"
	"fmt"
	"hash/crc32"

	"golang.org/x/crypto/argon2"
)

// HKDF labels: one secret from argon2id gives independent keys for
// encryption and for the password check stored in the header, so the
// check value reveals nothing about the encryption key.
const (
	infoKey   = "meridian backup v1 aes-256-gcm key"
	infoCheck = "meridian backup v1 password check"
)

// deriveKeys turns the password into the record cipher and the check
// value recorded in the header.
func deriveKeys(password string, salt []byte, p KDFParams) (cipher.AEAD, [keyCheckLen]byte, error) {
	var check [keyCheckLen]byte
	secret := argon2.IDKey([]byte(password), salt, p.Time, p.MemoryKiB, p.Threads, 32)
	key, err := hkdf.Key(sha256.New, secret, nil, infoKey, 32)
	if err != nil {
		return nil, check, err
	}
	c, err := hkdf.Key(sha256.New, secret, nil, infoCheck, keyCheckLen)
	if err != nil {
		return nil, check, err
	}
	copy(check[:], c)
	block, err := aes.NewCipher(key)
	if err != nil {
		return nil, check, err
	}
	aead, err := cipher.NewGCM(block)
	if err != nil {
		return nil, check, err
	}
	return aead, check, nil
}

// openKeys derives the keys for a header and checks the password.
func openKeys(h *header, password string) (cipher.AEAD, error) {
	if password == "" {
		return nil, ErrPasswordRequired
	}
	aead, check, err := deriveKeys(password, h.salt[:], h.kdf)
	if err != nil {
		return nil, fmt.Errorf("derive key: %w", err)
	}
	if subtle.ConstantTimeCompare(check[:], h.keyCheck[:]) != 1 {
		return nil, ErrWrongPassword
	}
	return aead, nil
}

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

// sealer protects records: AES-256-GCM when the archive is encrypted,
// CRC-32C otherwise. Both bind the header checksum, the record's index
// and its prefix (length and final flag), so a record moved, dropped,
// cut short or taken from another archive fails its check.
type sealer struct {
	aead    cipher.AEAD // nil: CRC-32C
	binding [32]byte
}

func (s *sealer) overhead() int {
	if s.aead != nil {
		return tagLen
	}
	return crcLen
}

// nonce is the record index (little-endian), three zero bytes and the
// final flag. Every archive has its own key (a fresh random salt), so a
// counter never repeats a nonce under one key.
func recordNonce(index uint64, final bool) [12]byte {
	var n [12]byte
	binary.LittleEndian.PutUint64(n[:], index)
	if final {
		n[11] = 1
	}
	return n
}

func (s *sealer) aad(index uint64, prefix uint32) [44]byte {
	var a [44]byte
	copy(a[:], s.binding[:])
	binary.LittleEndian.PutUint64(a[32:], index)
	binary.LittleEndian.PutUint32(a[40:], prefix)
	return a
}

// seal protects buf[:n] in place; buf must have room for the overhead.
// It returns the sealed body.
func (s *sealer) seal(buf []byte, n int, index uint64, prefix uint32) []byte {
	a := s.aad(index, prefix)
	if s.aead != nil {
		nonce := recordNonce(index, prefix&recordFinal != 0)
		return s.aead.Seal(buf[:0], nonce[:], buf[:n], a[:])
	}
	crc := crc32.Update(crc32.Checksum(a[:], castagnoli), castagnoli, buf[:n])
	return binary.LittleEndian.AppendUint32(buf[:n], crc)
}

// open checks a sealed body in place and returns the plaintext.
func (s *sealer) open(body []byte, index uint64, prefix uint32) ([]byte, bool) {
	a := s.aad(index, prefix)
	if s.aead != nil {
		nonce := recordNonce(index, prefix&recordFinal != 0)
		p, err := s.aead.Open(body[:0], nonce[:], body, a[:])
		return p, err == nil
	}
	n := len(body) - crcLen
	crc := crc32.Update(crc32.Checksum(a[:], castagnoli), castagnoli, body[:n])
	return body[:n], crc == binary.LittleEndian.Uint32(body[n:])
}
