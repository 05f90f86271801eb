package vfs

// A DirectWriter is an FS that can write a new file's bytes past the
// operating system's page cache (O_DIRECT on Linux). The catalog writes
// objects that the server keeps decoded in memory anyway: through the
// cache, every byte would be copied once more and take the same memory
// twice until the kernel wrote it back and reclaimed it.
type DirectWriter interface {
	// WriteDirect creates the named file, truncating it if it exists,
	// and writes data to it past the cache. As with Create, nothing is
	// synced: the bytes are durable after File.Sync of the file. It
	// reports false, having written nothing, when it cannot write data
	// so: data shorter than MinDirect or not aligned to DirectAlign in
	// memory, or a filesystem without direct I/O (which may leave a new
	// file empty: the caller then writes it as usual). After an error
	// the file may exist with part of data, as after a failed Write.
	WriteDirect(name string, data []byte) (bool, error)
}

const (
	// DirectAlign is the alignment, in memory, of the data WriteDirect
	// takes: the page size, a multiple of the block sizes of every disk
	// in use. Go allocates slices of 32 KiB and more on page boundaries.
	DirectAlign = 4096
	// MinDirect is the least data WriteDirect writes. Each direct write
	// waits for the disk; below this size a copy into the cache costs
	// less.
	MinDirect = 256 << 10
)
