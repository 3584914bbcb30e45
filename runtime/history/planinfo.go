package history

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"github.com/loadshaper/loadshaper/lang"
	ctyjson "github.com/zclconf/go-cty/cty/json"
)

// RunFromPlan describes a run of plan starting at start: its name, a hash
// of its files, its variables, and the git commit and dirty flag when the
// plan lives in a git repository. Git is optional: without it (or outside
// a repository) the git fields stay empty.
func RunFromPlan(p *lang.Plan, start time.Time) (Run, error) {
	r := Run{Kind: KindRun, Plan: p.Name, Dir: p.Dir, Files: append([]string(nil), p.Files...), Start: start.UTC()}
	h, err := HashFiles(p.Dir, p.Files)
	if err != nil {
		return r, err
	}
	r.PlanHash = h
	if len(p.Variables) > 0 {
		r.Variables = map[string]string{}
		for name, v := range p.Variables {
			b, err := ctyjson.Marshal(v, v.Type())
			if err != nil {
				r.Variables[name] = v.GoString()
				continue
			}
			r.Variables[name] = string(b)
		}
	}
	dir := p.Dir
	if dir == "" && len(p.Files) > 0 {
		dir = filepath.Dir(p.Files[0])
	}
	r.GitRoot, r.GitCommit, r.GitDirty = GitInfo(dir, p.Files)
	return r, nil
}

// HashFiles is the plan hash: sha256 over each file's path (relative to
// dir, so a moved checkout hashes the same) and content, in order.
func HashFiles(dir string, files []string) (string, error) {
	h := sha256.New()
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			return "", fmt.Errorf("history: hash plan: %w", err)
		}
		name := f
		if dir != "" {
			if rel, err := filepath.Rel(dir, f); err == nil {
				name = rel
			}
		}
		fmt.Fprintf(h, "%s\x00%d\x00", filepath.ToSlash(name), len(b))
		h.Write(b)
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}

// GitInfo reports the repository root, HEAD commit and whether any of
// files differ from it. Empty results mean "not in a git repository" (or
// no git installed).
func GitInfo(dir string, files []string) (root, commit string, dirty bool) {
	if dir == "" {
		return "", "", false
	}
	root, err := git(dir, "rev-parse", "--show-toplevel")
	if err != nil {
		return "", "", false
	}
	commit, err = git(dir, "rev-parse", "HEAD")
	if err != nil {
		return root, "", false // a repository without commits yet
	}
	args := []string{"status", "--porcelain", "--"}
	if len(files) == 0 {
		args = append(args, ".")
	}
	args = append(args, files...)
	st, err := git(dir, args...)
	return root, commit, err == nil && st != ""
}

// GitDiffStat is `git diff --stat a b -- paths` in root, for `history diff`.
func GitDiffStat(root, a, b string, paths ...string) (string, error) {
	args := append([]string{"diff", "--stat", a, b, "--"}, paths...)
	return git(root, args...)
}

func git(dir string, args ...string) (string, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, "git", append([]string{"-C", dir}, args...)...)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	if err := cmd.Run(); err != nil {
		return "", fmt.Errorf("git %s: %v: %s", strings.Join(args, " "), err, strings.TrimSpace(errb.String()))
	}
	return strings.TrimRight(out.String(), "\n"), nil
}

// relPaths turns files into paths relative to root, for git pathspecs.
func relPaths(root string, files []string) []string {
	var out []string
	for _, f := range files {
		if rel, err := filepath.Rel(root, f); err == nil && !strings.HasPrefix(rel, "..") {
			out = append(out, filepath.ToSlash(rel))
		}
	}
	sort.Strings(out)
	return out
}
