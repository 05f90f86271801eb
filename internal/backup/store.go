package backup

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/meridian-olap/meridian/internal/blob"
	"github.com/meridian-olap/meridian/internal/image"
)

// ContentType is the media type archives are stored with.
const ContentType = "application/vnd.meridian.backup"

// Blob metadata keys. An archive written with WriteToStore carries its
// Metadata (and a few facts from its header and manifest) as blob
// metadata too, so that listing backups needs one Stat per object
// rather than opening each archive. Values are percent-encoded UTF-8
// (RFC 3986 path escaping), because object stores only keep ASCII.
const (
	metaFormat     = "meridian_backup" // archive format version: marks a Meridian backup
	metaServer     = "meridian_server"
	metaDatabase   = "meridian_database"
	metaCreated    = "meridian_created" // RFC 3339, UTC
	metaVersion    = "meridian_version" // of the binary
	metaImage      = "meridian_image"   // the image's content hash
	metaDBVersion  = "meridian_db_version"
	metaEncrypted  = "meridian_encrypted"
	metaCompressed = "meridian_compressed"
	metaLabel      = "meridian_label_" // + label key
)

// maxBlobMetadata leaves room under the smallest service limit (2 KiB).
const maxBlobMetadata = 2000

// blobMetadata is the blob metadata of an archive.
func blobMetadata(md Metadata, m *image.Manifest, opts WriteOptions) map[string]string {
	out := map[string]string{
		metaFormat:     strconv.Itoa(FormatVersion),
		metaCreated:    md.Created.UTC().Format(time.RFC3339Nano),
		metaImage:      m.ContentHash().String(),
		metaDBVersion:  strconv.FormatInt(m.Version, 10),
		metaEncrypted:  strconv.FormatBool(opts.Password != ""),
		metaCompressed: strconv.FormatBool(opts.Compress),
	}
	add := func(k, v string) {
		if v == "" {
			return
		}
		v = url.PathEscape(v)
		total := 0
		for k, v := range out {
			total += len(k) + len(v)
		}
		// What does not fit stays in the archive only; a listing
		// shows it as unknown rather than failing the backup.
		if total+len(k)+len(v) <= maxBlobMetadata {
			out[k] = v
		}
	}
	add(metaServer, md.Server)
	add(metaVersion, md.MeridianVersion)
	for k, v := range md.Labels {
		add(metaLabel+k, v)
	}
	add(metaDatabase, md.Database)
	return out
}

// WriteToStore writes src as an archive named name in st, streaming, with
// its metadata also stored as the blob's metadata (see List). Without
// overwrite an existing object is refused with an error wrapping
// blob.ErrExists (TMSL allowOverwrite false). If anything fails the
// object is not created or replaced: the store publishes an object only
// once its upload completes.
func WriteToStore(ctx context.Context, st *blob.Store, name string, src Source, opts WriteOptions, overwrite bool) (Stats, error) {
	if err := blob.ValidName(name); err != nil {
		return Stats{}, fmt.Errorf("backup to %q: %w", name, err)
	}
	m, _, err := checkSource(src)
	if err != nil {
		return Stats{}, err
	}
	if !overwrite {
		// Refuse early rather than after writing the whole archive; the
		// conditional write below settles races.
		if ok, err := st.Exists(ctx, name); err != nil || ok {
			if ok {
				err = fmt.Errorf("%w: %s in %s", blob.ErrExists, name, st)
			}
			return Stats{}, fmt.Errorf("backup to %q: %w", name, err)
		}
	}
	// Fix the defaults here so the archive and the blob metadata agree.
	if opts.Metadata.Database == "" {
		opts.Metadata.Database = m.Database
	}
	if opts.Metadata.Created.IsZero() {
		opts.Metadata.Created = time.Now()
	}
	opts.Metadata.Created = opts.Metadata.Created.UTC()
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	pr, pw := io.Pipe()
	type result struct {
		st  Stats
		err error
	}
	done := make(chan result, 1)
	go func() {
		st, err := Write(ctx, pw, src, opts)
		pw.CloseWithError(err)
		done <- result{st, err}
	}()
	perr := st.Put(ctx, name, pr, blob.PutOptions{IfNotExists: !overwrite, ContentType: ContentType,
		Metadata: blobMetadata(opts.Metadata, m, opts)})
	// If the upload stopped early, unblock the writer.
	pr.CloseWithError(errors.Join(perr, errors.New("backup: upload ended")))
	if perr != nil {
		cancel()
	}
	res := <-done
	// When writing failed first, the upload failed with the same error:
	// report it once. When the upload failed first, writing failed
	// because of it: report the upload's error.
	if res.err != nil && (perr == nil || errors.Is(perr, res.err)) {
		return res.st, res.err
	}
	if perr != nil {
		return res.st, fmt.Errorf("backup to %q: %w", name, perr)
	}
	return res.st, nil
}

// ReadFromStore reads the archive named name from st; see Read.
func ReadFromStore(ctx context.Context, st *blob.Store, name string, opts ReadOptions, sink image.ObjectWriter) (*Info, error) {
	rc, _, err := st.Get(ctx, name)
	if err != nil {
		return nil, fmt.Errorf("restore from %q: %w", name, err)
	}
	defer rc.Close()
	return Read(ctx, rc, opts, sink)
}

// Entry is an object found by List.
type Entry struct {
	Name    string
	Size    int64
	ModTime time.Time
	// Known is set when the object carries the blob metadata
	// WriteToStore stores; the fields below are then filled in. Other
	// objects (copied in by hand, written by other tools) are listed
	// with Known false: open them with Inspect to learn more.
	Known        bool
	Metadata     Metadata
	Encrypted    bool
	Compressed   bool
	ImageHash    string
	ImageVersion int64
}

// List lists the objects under prefix ("" for all) with what their blob
// metadata says; one Stat per object.
func List(ctx context.Context, st *blob.Store, prefix string) ([]Entry, error) {
	var out []Entry
	for e, err := range st.List(ctx, prefix) {
		if err != nil {
			return out, err
		}
		a, err := st.Stat(ctx, e.Name)
		if errors.Is(err, blob.ErrNotFound) {
			continue // deleted since the listing
		}
		if err != nil {
			return out, err
		}
		out = append(out, entryFrom(e, a))
	}
	return out, nil
}

func entryFrom(e blob.Entry, a blob.Attributes) Entry {
	en := Entry{Name: e.Name, Size: e.Size, ModTime: e.ModTime}
	md := a.Metadata
	if md[metaFormat] == "" {
		return en
	}
	get := func(k string) string {
		v, err := url.PathUnescape(md[k])
		if err != nil {
			return md[k]
		}
		return v
	}
	en.Known = true
	en.Metadata = Metadata{Server: get(metaServer), MeridianVersion: get(metaVersion), Database: get(metaDatabase)}
	en.Metadata.Created, _ = time.Parse(time.RFC3339Nano, md[metaCreated])
	for k := range md {
		if l, ok := strings.CutPrefix(k, metaLabel); ok {
			if en.Metadata.Labels == nil {
				en.Metadata.Labels = map[string]string{}
			}
			en.Metadata.Labels[l] = get(k)
		}
	}
	en.Encrypted = md[metaEncrypted] == "true"
	en.Compressed = md[metaCompressed] == "true"
	en.ImageHash = md[metaImage]
	en.ImageVersion, _ = strconv.ParseInt(md[metaDBVersion], 10, 64)
	return en
}
