// branchline-verify-export checks an audit export made by `branchline audit export` with nothing
// but the ledger's verifier key: the checkpoint's signature, and every entry's inclusion proof in
// that checkpoint. It is written against golang.org/x/mod/sumdb/note and .../tlog (the Go
// project's own RFC 6962 and signed-note code), not against Branchline's, so that an examiner's
// check does not depend on the bank's software.
//
// usage:
//
//	branchline-verify-export -key VKEY|FILE [-consistency FILE] [-full] EXPORT
//
// -full: the export holds every entry of its checkpoint's tree (1..N). The tree is then rebuilt
// here with tlog, its root compared with the checkpoint's, and every proof compared byte for byte
// with the one tlog.ProveRecord makes (and each consistency proof with tlog.ProveTree).
// Exit status 0 when everything checks, 1 when something does not (the first bad sequence
// number is named), 2 for bad usage.
package main

import (
	"bufio"
	"encoding/base64"
	"encoding/json"
	"errors"
	"flag"
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

func fail(format string, args ...interface{}) {
	fmt.Fprintf(os.Stderr, "FAIL: "+format+"\n", args...)
	os.Exit(1)
}

func usage(format string, args ...interface{}) {
	fmt.Fprintf(os.Stderr, format+"\n", args...)
	os.Exit(2)
}

// openCheckpoint verifies a signed note with the key and parses its C2SP checkpoint body.
func openCheckpoint(text string, verifier note.Verifier) (checkpoint, error) {
	n, err := note.Open([]byte(text), note.VerifierList(verifier))
	if err != nil {
		return checkpoint{}, fmt.Errorf("signature: %v", err)
	}
	lines := strings.Split(strings.TrimSuffix(n.Text, "\n"), "\n")
	if len(lines) < 3 {
		return checkpoint{}, errors.New("a checkpoint has an origin, a size and a root")
	}
	size, err := strconv.ParseInt(lines[1], 10, 64)
	if err != nil || size < 0 || strconv.FormatInt(size, 10) != lines[1] {
		return checkpoint{}, fmt.Errorf("bad tree size %q", lines[1])
	}
	root, err := tlog.ParseHash(lines[2])
	if err != nil {
		return checkpoint{}, fmt.Errorf("bad root hash %q", lines[2])
	}
	return checkpoint{lines[0], size, root}, nil
}

func decodeHashes(list []string) ([]tlog.Hash, error) {
	out := make([]tlog.Hash, len(list))
	for i, s := range list {
		b, err := base64.StdEncoding.DecodeString(s)
		if err != nil || len(b) != tlog.HashSize {
			return nil, fmt.Errorf("proof hash %d is not base64 of 32 bytes", i)
		}
		copy(out[i][:], b)
	}
	return out, nil
}

func sameHashes(a, b []tlog.Hash) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

func readKey(arg string) string {
	if !strings.Contains(arg, "+") {
		b, err := os.ReadFile(arg)
		if err != nil {
			usage("-key: %v", err)
		}
		arg = strings.TrimSpace(string(b))
	}
	return arg
}

func main() {
	keyArg := flag.String("key", "", "the ledger's verifier key (name+id+key), or a file holding it")
	consistencyFile := flag.String("consistency", "", "JSON lines from `branchline audit consistency` to check too")
	full := flag.Bool("full", false, "the export is the whole tree: rebuild it with tlog and compare every proof")
	flag.Parse()
	if *keyArg == "" || flag.NArg() != 1 {
		usage("usage: branchline-verify-export -key VKEY|FILE [-consistency FILE] [-full] EXPORT")
	}
	verifier, err := note.NewVerifier(readKey(*keyArg))
	if err != nil {
		usage("-key: %v", err)
	}
	f, err := os.Open(flag.Arg(0))
	if err != nil {
		usage("%v", err)
	}
	defer f.Close()
	scanner := bufio.NewScanner(f)
	scanner.Buffer(make([]byte, 1<<20), 16<<20)

	// The first line: the checkpoint every proof refers to.
	if !scanner.Scan() {
		fail("the export is empty")
	}
	var head struct {
		Checkpoint string `json:"checkpoint"`
	}
	if err := json.Unmarshal(scanner.Bytes(), &head); err != nil || head.Checkpoint == "" {
		fail("line 1 is not the export's checkpoint")
	}
	cp, err := openCheckpoint(head.Checkpoint, verifier)
	if err != nil {
		fail("the export's checkpoint: %v", err)
	}

	// The entries: each checked against the checkpoint on its own.
	var leaves []tlog.Hash
	var proofs [][]tlog.Hash
	count, purged, line := 0, 0, 1
	for scanner.Scan() {
		line++
		var e struct {
			Seq      int64    `json:"seq"`
			Entry    string   `json:"entry"`
			Purged   string   `json:"purged"`
			LeafHash string   `json:"leaf_hash"`
			Proof    []string `json:"proof"`
		}
		if err := json.Unmarshal(scanner.Bytes(), &e); err != nil {
			fail("line %d is not an exported entry: %v", line, err)
		}
		// A purged entry (retention removed its payload) keeps its leaf hash: its place in the
		// tree is still proven, its content no longer can be.
		var leaf tlog.Hash
		if e.Purged != "" {
			hashes, err := decodeHashes([]string{e.LeafHash})
			if err != nil {
				fail("entry %d: purged, but its leaf hash is not base64 of 32 bytes", e.Seq)
			}
			leaf = hashes[0]
			purged++
		} else {
			var own struct {
				Seq int64 `json:"seq"`
			}
			if err := json.Unmarshal([]byte(e.Entry), &own); err != nil || own.Seq != e.Seq {
				fail("entry %d: the entry does not carry its own sequence number", e.Seq)
			}
			leaf = tlog.RecordHash([]byte(e.Entry))
		}
		if e.Seq < 1 || e.Seq > cp.size {
			fail("entry %d: not in the checkpoint's tree of size %d", e.Seq, cp.size)
		}
		proof, err := decodeHashes(e.Proof)
		if err != nil {
			fail("entry %d: %v", e.Seq, err)
		}
		if err := tlog.CheckRecord(tlog.RecordProof(proof), cp.size, cp.root, e.Seq-1, leaf); err != nil {
			fail("entry %d: its inclusion proof does not check against the checkpoint (%v): the entry was altered", e.Seq, err)
		}
		if *full {
			if e.Seq != int64(len(leaves))+1 {
				fail("entry %d: -full needs every entry in order; expected %d", e.Seq, len(leaves)+1)
			}
			leaves = append(leaves, leaf)
			proofs = append(proofs, proof)
		}
		count++
	}
	if err := scanner.Err(); err != nil {
		fail("reading the export: %v", err)
	}

	if *full {
		if int64(len(leaves)) != cp.size {
			fail("-full: the export holds %d entries, the checkpoint %d", len(leaves), cp.size)
		}
		var stored []tlog.Hash
		reader := tlog.HashReaderFunc(func(indexes []int64) ([]tlog.Hash, error) {
			out := make([]tlog.Hash, len(indexes))
			for i, x := range indexes {
				if x >= int64(len(stored)) {
					return nil, errors.New("hash index out of range")
				}
				out[i] = stored[x]
			}
			return out, nil
		})
		for n, leaf := range leaves {
			hashes, err := tlog.StoredHashesForRecordHash(int64(n), leaf, reader)
			if err != nil {
				fail("tlog: %v", err)
			}
			stored = append(stored, hashes...)
		}
		root, err := tlog.TreeHash(cp.size, reader)
		if err != nil || root != cp.root {
			fail("the tree rebuilt by tlog has root %v, the checkpoint %v", root, cp.root)
		}
		for n := range leaves {
			want, err := tlog.ProveRecord(cp.size, int64(n), reader)
			if err != nil || !sameHashes(want, proofs[n]) {
				fail("entry %d: the proof differs from tlog.ProveRecord's", n+1)
			}
		}
		if *consistencyFile != "" {
			checkConsistency(*consistencyFile, verifier, cp, reader)
		}
	} else if *consistencyFile != "" {
		checkConsistency(*consistencyFile, verifier, cp, nil)
	}
	fmt.Printf("ok: %d entries checked against the checkpoint of %s at tree size %d, root %v, signed by %s",
		count, cp.origin, cp.size, cp.root, verifier.Name())
	if purged > 0 {
		fmt.Printf(" (%d purged by retention: place proven, payload gone)", purged)
	}
	fmt.Println()
}

// checkConsistency checks each proof with tlog.CheckTree and, when the tree was rebuilt, compares
// it with tlog.ProveTree's.
func checkConsistency(file string, verifier note.Verifier, latest checkpoint, reader tlog.HashReader) {
	b, err := os.ReadFile(file)
	if err != nil {
		usage("-consistency: %v", err)
	}
	checked := 0
	for i, line := range strings.Split(strings.TrimSpace(string(b)), "\n") {
		var p struct {
			Old   string   `json:"old_checkpoint"`
			New   string   `json:"new_checkpoint"`
			Proof []string `json:"proof"`
		}
		if err := json.Unmarshal([]byte(line), &p); err != nil {
			fail("consistency line %d: %v", i+1, err)
		}
		oldCp, err1 := openCheckpoint(p.Old, verifier)
		newCp, err2 := openCheckpoint(p.New, verifier)
		if err1 != nil || err2 != nil {
			fail("consistency line %d: a checkpoint does not verify", i+1)
		}
		proof, err := decodeHashes(p.Proof)
		if err != nil {
			fail("consistency line %d: %v", i+1, err)
		}
		if err := tlog.CheckTree(tlog.TreeProof(proof), newCp.size, newCp.root, oldCp.size, oldCp.root); err != nil {
			fail("consistency %d -> %d: %v", oldCp.size, newCp.size, err)
		}
		if reader != nil && newCp.size <= latest.size {
			want, err := tlog.ProveTree(newCp.size, oldCp.size, reader)
			if err != nil || !sameHashes(want, proof) {
				fail("consistency %d -> %d: the proof differs from tlog.ProveTree's", oldCp.size, newCp.size)
			}
		}
		checked++
	}
	fmt.Printf("ok: %d consistency proofs checked\n", checked)
}
