// Command fkverify is an independent verifier for Forgekeep's transparency-log
// formats, written against golang.org/x/mod/sumdb/note and sumdb/tlog only.
//
// It shares no code with Forgekeep: notes are opened with note.Open, proofs are
// checked with tlog.CheckRecord and tlog.CheckTree, and the checkpoint body
// (c2sp.org/tlog-checkpoint), cosignatures (c2sp.org/tlog-cosignature, type
// 0x04) and proof files (c2sp.org/tlog-proof@v1) are parsed here from the
// spec text.
//
// Usage:
//
//	fkverify checkpoint  <vkey> <note-file> [witness-vkey ...]
//	fkverify inclusion   <vkey> <note-file> <index> <entry-file> <hashes-file>
//	fkverify consistency <vkey> <old-note-file> <new-note-file> <hashes-file>
//	fkverify tlog-proof  <vkey> <proof-file> [witness-vkey ...]
//
// A hashes file holds one base64 SHA-256 hash per line. Every witness given
// must have cosigned. Exit status 0 and "ok ..." on success; non-zero and a
// message on stderr on any failure.
package main

import (
	"bytes"
	"crypto/ed25519"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"errors"
	"fmt"
	"os"
	"strconv"
	"strings"

	"golang.org/x/mod/sumdb/note"
	"golang.org/x/mod/sumdb/tlog"
)

type checkpoint struct {
	origin string
	size   int64
	root   tlog.Hash
}

// cosigner verifies c2sp.org/tlog-cosignature Ed25519 (type 0x04) signatures.
type cosigner struct {
	name string
	hash uint32
	key  ed25519.PublicKey
}

func (c *cosigner) Name() string    { return c.name }
func (c *cosigner) KeyHash() uint32 { return c.hash }

func (c *cosigner) Verify(msg, sig []byte) bool {
	if len(sig) != 8+ed25519.SignatureSize {
		return false
	}
	t := binary.BigEndian.Uint64(sig[:8])
	if t > 1<<63-1 {
		return false
	}
	signed := []byte(fmt.Sprintf("cosignature/v1\ntime %d\n", t))
	signed = append(signed, msg...)
	return ed25519.Verify(c.key, signed, sig[8:])
}

func newCosigner(vkey string) (*cosigner, error) {
	parts := strings.SplitN(vkey, "+", 3)
	if len(parts) != 3 {
		return nil, errors.New("malformed witness vkey")
	}
	raw, err := base64.StdEncoding.DecodeString(parts[2])
	if err != nil || len(raw) != 1+ed25519.PublicKeySize || raw[0] != 0x04 {
		return nil, errors.New("witness vkey is not 0x04 || Ed25519 key")
	}
	h := sha256.Sum256(append([]byte(parts[0]+"\n"), raw...))
	hash := binary.BigEndian.Uint32(h[:4])
	if fmt.Sprintf("%08x", hash) != parts[1] {
		return nil, errors.New("witness vkey id mismatch")
	}
	return &cosigner{parts[0], hash, ed25519.PublicKey(raw[1:])}, nil
}

func parseCheckpoint(text string) (checkpoint, error) {
	if !strings.HasSuffix(text, "\n") {
		return checkpoint{}, errors.New("checkpoint does not end in newline")
	}
	lines := strings.Split(strings.TrimSuffix(text, "\n"), "\n")
	if len(lines) < 3 {
		return checkpoint{}, errors.New("checkpoint has fewer than three lines")
	}
	for _, l := range lines {
		if l == "" {
			return checkpoint{}, errors.New("checkpoint has an empty line")
		}
	}
	n, err := strconv.ParseInt(lines[1], 10, 64)
	if err != nil || n < 0 || strconv.FormatInt(n, 10) != lines[1] {
		return checkpoint{}, errors.New("bad tree size")
	}
	root, err := tlog.ParseHash(lines[2])
	if err != nil || root.String() != lines[2] {
		return checkpoint{}, errors.New("bad root hash")
	}
	return checkpoint{lines[0], n, root}, nil
}

// openCheckpoint verifies a checkpoint note with the log key and every witness.
func openCheckpoint(msg []byte, vkey string, witnesses []string) (checkpoint, error) {
	v, err := note.NewVerifier(vkey)
	if err != nil {
		return checkpoint{}, fmt.Errorf("log vkey: %v", err)
	}
	list := []note.Verifier{v}
	for _, w := range witnesses {
		c, err := newCosigner(w)
		if err != nil {
			return checkpoint{}, err
		}
		list = append(list, c)
	}
	n, err := note.Open(msg, note.VerifierList(list...))
	if err != nil {
		return checkpoint{}, fmt.Errorf("note: %v", err)
	}
	for _, want := range list {
		found := false
		for _, s := range n.Sigs {
			found = found || (s.Name == want.Name() && s.Hash == want.KeyHash())
		}
		if !found {
			return checkpoint{}, fmt.Errorf("no signature by %s", want.Name())
		}
	}
	cp, err := parseCheckpoint(n.Text)
	if err != nil {
		return checkpoint{}, err
	}
	if cp.origin != v.Name() {
		return checkpoint{}, fmt.Errorf("origin %q is not the log key name", cp.origin)
	}
	return cp, nil
}

func readHashes(text string) ([]tlog.Hash, error) {
	var out []tlog.Hash
	for _, l := range strings.Split(text, "\n") {
		if l == "" {
			continue
		}
		h, err := tlog.ParseHash(l)
		if err != nil {
			return nil, fmt.Errorf("bad proof hash %q", l)
		}
		out = append(out, h)
	}
	return out, nil
}

func readFile(path string) []byte {
	data, err := os.ReadFile(path)
	if err != nil {
		fail(err)
	}
	return data
}

func fail(err error) {
	fmt.Fprintln(os.Stderr, "fkverify:", err)
	os.Exit(1)
}

// parseProofFile splits a c2sp.org/tlog-proof@v1 file.
func parseProofFile(data []byte) (extra []byte, index int64, hashes []tlog.Hash, cp []byte, err error) {
	end := bytes.Index(data, []byte("\n\n"))
	if end < 0 {
		return nil, 0, nil, nil, errors.New("proof: no empty line")
	}
	lines := strings.Split(string(data[:end]), "\n")
	cp = data[end+2:]
	if lines[0] != "c2sp.org/tlog-proof@v1" {
		return nil, 0, nil, nil, errors.New("proof: bad header line")
	}
	lines = lines[1:]
	if len(lines) > 0 && strings.HasPrefix(lines[0], "extra ") {
		extra, err = base64.StdEncoding.DecodeString(strings.TrimPrefix(lines[0], "extra "))
		if err != nil {
			return nil, 0, nil, nil, errors.New("proof: bad extra")
		}
		lines = lines[1:]
	}
	if len(lines) == 0 || !strings.HasPrefix(lines[0], "index ") {
		return nil, 0, nil, nil, errors.New("proof: no index line")
	}
	idx := strings.TrimPrefix(lines[0], "index ")
	index, err = strconv.ParseInt(idx, 10, 64)
	if err != nil || index < 0 || strconv.FormatInt(index, 10) != idx {
		return nil, 0, nil, nil, errors.New("proof: bad index")
	}
	hashes, err = readHashes(strings.Join(lines[1:], "\n"))
	return extra, index, hashes, cp, err
}

func main() {
	args := os.Args[1:]
	if len(args) < 3 {
		fail(errors.New("usage: fkverify checkpoint|inclusion|consistency|tlog-proof ..."))
	}
	switch args[0] {
	case "checkpoint":
		cp, err := openCheckpoint(readFile(args[2]), args[1], args[3:])
		if err != nil {
			fail(err)
		}
		fmt.Printf("ok checkpoint %s %d %s\n", cp.origin, cp.size, cp.root)
	case "inclusion":
		if len(args) != 6 {
			fail(errors.New("usage: inclusion <vkey> <note> <index> <entry> <hashes>"))
		}
		cp, err := openCheckpoint(readFile(args[2]), args[1], nil)
		if err != nil {
			fail(err)
		}
		index, err := strconv.ParseInt(args[3], 10, 64)
		if err != nil {
			fail(err)
		}
		proof, err := readHashes(string(readFile(args[5])))
		if err != nil {
			fail(err)
		}
		leaf := tlog.RecordHash(readFile(args[4]))
		if err := tlog.CheckRecord(proof, cp.size, cp.root, index, leaf); err != nil {
			fail(fmt.Errorf("inclusion: %v", err))
		}
		fmt.Printf("ok inclusion %d %d\n", index, cp.size)
	case "consistency":
		if len(args) != 5 {
			fail(errors.New("usage: consistency <vkey> <old> <new> <hashes>"))
		}
		old, err := openCheckpoint(readFile(args[2]), args[1], nil)
		if err != nil {
			fail(err)
		}
		cur, err := openCheckpoint(readFile(args[3]), args[1], nil)
		if err != nil {
			fail(err)
		}
		proof, err := readHashes(string(readFile(args[4])))
		if err != nil {
			fail(err)
		}
		if err := tlog.CheckTree(proof, cur.size, cur.root, old.size, old.root); err != nil {
			fail(fmt.Errorf("consistency: %v", err))
		}
		fmt.Printf("ok consistency %d %d\n", old.size, cur.size)
	case "tlog-proof":
		extra, index, proof, msg, err := parseProofFile(readFile(args[2]))
		if err != nil {
			fail(err)
		}
		cp, err := openCheckpoint(msg, args[1], args[3:])
		if err != nil {
			fail(err)
		}
		if err := tlog.CheckRecord(proof, cp.size, cp.root, index, tlog.RecordHash(extra)); err != nil {
			fail(fmt.Errorf("inclusion: %v", err))
		}
		fmt.Printf("ok tlog-proof %d %d\n", index, cp.size)
	default:
		fail(fmt.Errorf("unknown command %q", args[0]))
	}
}
