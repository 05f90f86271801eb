// Package backup writes database images as self-contained archive files
// and reads them back, and runs backup schedules with retention.
//
// An archive holds one image (see package image): its manifest, some
// metadata, and every object the manifest lists, each optionally
// compressed with zstd, the whole optionally encrypted with AES-256-GCM
// under a key derived from a password with argon2id. Write and Read
// stream: memory is bounded by a few records and objects, whatever the
// image's size, so a 5 GB database needs neither 5 GB of memory nor a
// seekable file. Read verifies every record, every object (against its
// SHA-256, which is its name) and the trailer before it reports success;
// a restore commits only then.
//
// WriteToStore and ReadFromStore move archives to and from a blob store
// (package blob); WriteToStore also stores the archive's metadata as the
// blob's metadata, which List reads. A Scheduler takes backups on cron
// schedules and applies retention to the backups it took.
//
// # Archive format, version 1
//
// Integers are little-endian. An archive is a header, data records, one
// final record, and nothing after it.
//
// Header (52 bytes, or 112 when encrypted):
//
//	off  len  field
//	0    8    magic 89 4D 42 41 4B 0D 0A 1A ("\x89MBAK\r\n\x1a")
//	8    2    format version: 1
//	10   2    flags: bit 0 compressed, bit 1 encrypted; other bits 0
//	12   4    header length H: 52, or 112 with bit 1
//	16   4    record size R: 256 to 16 MiB (1 MiB by default)
//	          -- when encrypted:
//	20   1    cipher: 1 = AES-256-GCM
//	21   1    key derivation: 1 = argon2id
//	22   1    argon2 version: 0x13
//	23   1    argon2 threads (lanes), at least 1
//	24   4    argon2 time (passes), 1 to 64
//	28   4    argon2 memory in KiB, at least 8 per thread
//	32   32   salt, random for every archive
//	64   16   password check value
//	          --
//	H-32 32   S: SHA-256 of bytes 0 to H-32
//
// Keys (encrypted archives): secret = argon2id(password as UTF-8, salt,
// time, memory, threads, 32 bytes); the AES key is HKDF-SHA256(secret,
// no salt, "meridian backup v1 aes-256-gcm key", 32 bytes) and the
// check value HKDF-SHA256(secret, no salt, "meridian backup v1 password
// check", 16 bytes). A reader that derives another check value has the
// wrong password; the header checksum has already ruled out damage.
//
// Records follow the header. Record i (counting from 0) is:
//
//	4      prefix P: bits 0-30 the payload length n, bit 31 the final flag
//	n      payload: plaintext, or AES-GCM ciphertext when encrypted
//	4|16   seal: CRC-32C (Castagnoli) of A and the payload, or the GCM tag
//
// where A is the 44 bytes S, i (8 bytes) and P (4 bytes). The GCM nonce
// is i (8 bytes), three zero bytes and the final flag (1 byte); A is the
// additional data. Every archive has its own salt, hence its own key, so
// a nonce never repeats under a key. Binding S, i and P into every seal
// means a record that is altered, moved, dropped, cut short or taken
// from another archive fails its check. Data records have the final flag
// clear and 1 to R bytes of payload; all but the last have exactly R.
// The final record has the flag set, holds exactly the 73-byte trailer,
// and is followed by the end of the file.
//
// The payloads of the data records, concatenated, are the content:
//
//	'M' u32 L, then L bytes: the manifest, image.Manifest.Marshal JSON
//	        (objects sorted by hash, no duplicates)
//	'D' u32 L, then L bytes: the metadata, JSON (see Metadata), at most 64 KiB
//	then, for each object in manifest order:
//	'O' hash (32 bytes) u8 k, kind (k bytes) u8 encoding u64 size u64 N,
//	        then N bytes: the object (encoding 0, N = size) or zstd
//	        frames that decode to it (encoding 1)
//
// The trailer (the final record's payload):
//
//	'T' u64 data records  u64 objects  u64 object bytes  u64 content bytes
//	    32 archive hash   "MBAK-END"
//
// The archive hash is the SHA-256 of the header (H bytes) followed by,
// for each data record in order, its prefix and its seal. Every byte of
// every record is covered by its seal, and the seals by the archive hash,
// so the hash covers everything before the trailer without a second
// pass over the data (object contents are hashed once more anyway, each
// against its name).
//
// # Reading
//
// Readers refuse with errors wrapping: ErrNotBackup (another magic),
// ErrABF (the file starts like an Analysis Services backup: a UTF-16
// byte-order mark and "STREAM_STORAGE_SIGNATURE_)!@#$%^&*(", or the
// UTF-16 sentence "This backup was created using" of XPress9-compressed
// ones), ErrVersion, ErrPasswordRequired, ErrWrongPassword, ErrTruncated
// ("the backup is truncated after N bytes", N being the file's length),
// ErrCorrupt (a header, record or object check failed, naming it) and
// ErrTrailingData. Limits (ReadOptions) bound what an archive may make a
// reader allocate or compute: the manifest's size, an object's size, and
// the argon2 memory.
//
// The objects of an image are committed under their hashes, so an
// archive restored anywhere yields the same image content hash.
//
// # Schedules
//
// See ScheduleConfig for the configuration, Scheduler for when backups
// run. A schedule's backups carry blob metadata naming the server and
// the schedule (and the database); retention considers only those, so it
// never deletes backups taken by hand, by another server or by another
// schedule, even under the same names.
package backup
