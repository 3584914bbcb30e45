package history

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/tidwall/buntdb"
)

// Sync says how often the history file is flushed to stable storage.
// Every committed tick is written to the file (the operating system's page
// cache) before Record returns, so a killed process never loses a completed
// tick; Sync only matters when the machine itself goes down.
type Sync int

const (
	// SyncEverySecond fsyncs at most once a second (the default): a power
	// loss may cost the last second of ticks.
	SyncEverySecond Sync = iota
	// SyncEveryTick fsyncs on every recorded tick.
	SyncEveryTick
	// SyncNever leaves flushing to the operating system.
	SyncNever
)

// ParseSync reads the names used in plans and flags: "second", "tick", "never".
func ParseSync(s string) (Sync, error) {
	switch s {
	case "", "second":
		return SyncEverySecond, nil
	case "tick":
		return SyncEveryTick, nil
	case "never":
		return SyncNever, nil
	}
	return 0, fmt.Errorf("unknown history sync policy %q (want second, tick or never)", s)
}

// Options tune Open.
type Options struct {
	Sync Sync
}

// Kinds of run.
const (
	KindRun    = "run"    // a run of a plan
	KindImport = "import" // an external series imported from a file
)

// Run describes one recorded run. Outcome is empty while the run is going
// on and stays empty when the process was killed before Finish; readers show
// such a run as "unfinished".
type Run struct {
	ID        int               `json:"id"`
	Kind      string            `json:"kind"`
	Plan      string            `json:"plan"`
	PlanHash  string            `json:"plan_hash,omitempty"`
	Files     []string          `json:"files,omitempty"`
	Dir       string            `json:"dir,omitempty"`
	GitRoot   string            `json:"git_root,omitempty"`
	GitCommit string            `json:"git_commit,omitempty"`
	GitDirty  bool              `json:"git_dirty,omitempty"`
	Variables map[string]string `json:"variables,omitempty"`
	Start     time.Time         `json:"start"`
	End       time.Time         `json:"end,omitzero"`
	Outcome   string            `json:"outcome,omitempty"`
	Ticks     int               `json:"ticks,omitempty"`   // set by Finish and Import
	Source    string            `json:"source,omitempty"`  // import: the file it came from
	Rounded   int               `json:"rounded,omitempty"` // import: values with more digits than a float64 holds
	Shifted   int               `json:"shifted,omitempty"` // import: rows moved by nanoseconds because their timestamp repeated
	Host      string            `json:"host,omitempty"`
	PID       int               `json:"pid,omitempty"`
}

// Status is the outcome, or "unfinished" for a run that never finished.
func (r Run) Status() string {
	if r.Outcome == "" {
		return "unfinished"
	}
	return r.Outcome
}

// Store is an open history file. It is safe for concurrent use.
type Store struct {
	db       *buntdb.DB
	path     string
	mu       sync.Mutex // serialises run id allocation
	lock     *os.File   // held while the store is open for writing
	readOnly bool
}

// DefaultPath is where history lives when neither the plan nor a flag says
// otherwise: $XDG_DATA_HOME/loadshaper/history.db, or
// ~/.local/share/loadshaper/history.db.
func DefaultPath() (string, error) {
	if d := os.Getenv("XDG_DATA_HOME"); d != "" && filepath.IsAbs(d) {
		return filepath.Join(d, "loadshaper", "history.db"), nil
	}
	home, err := os.UserHomeDir()
	if err != nil {
		return "", fmt.Errorf("history: no home directory for the default history file (set --history or XDG_DATA_HOME): %w", err)
	}
	return filepath.Join(home, ".local", "share", "loadshaper", "history.db"), nil
}

// ResolvePath picks the history file: the flag first, then the plan's
// setting, then DefaultPath.
func ResolvePath(flag, planSetting string) (string, error) {
	switch {
	case flag != "":
		return flag, nil
	case planSetting != "":
		return planSetting, nil
	}
	return DefaultPath()
}

// Key layout (spec/history.md).
const (
	keyNextRun  = "meta:lastrun"
	runPrefix   = "run:"
	tickPrefix  = "tick:"
	indexByPlan = "runs_by_plan"
)

func runKey(id int) string { return fmt.Sprintf("run:%08d", id) }

// tickKey orders ticks by time within a run: zero-padded unix nanoseconds
// sort lexically as they do numerically (times from 1970 on).
func tickKey(run int, at time.Time) string {
	return fmt.Sprintf("tick:%08d:%020d", run, at.UnixNano())
}

func tickRunPrefix(run int) string { return fmt.Sprintf("tick:%08d:", run) }

// Open opens or creates a history file (and its directory). path ":memory:"
// gives a store that lives only in memory, for tests and dry-runs.
func Open(path string, opts ...Options) (*Store, error) {
	var o Options
	if len(opts) > 0 {
		o = opts[0]
	}
	if path == "" {
		return nil, errors.New("history: empty path")
	}
	if path != ":memory:" {
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			return nil, fmt.Errorf("history: %w", err)
		}
	}
	var lock *os.File
	readOnly := false
	if path != ":memory:" {
		var err error
		lock, readOnly, err = lockFile(path + ".lock")
		if err != nil {
			return nil, fmt.Errorf("history: %w", err)
		}
	}
	var db *buntdb.DB
	var err error
	if readOnly {
		db, err = openSnapshot(path)
	} else {
		db, err = buntdb.Open(path)
	}
	if err != nil {
		if lock != nil {
			lock.Close()
		}
		return nil, fmt.Errorf("history: open %s: %w", path, err)
	}
	var cfg buntdb.Config
	if err := db.ReadConfig(&cfg); err != nil {
		db.Close()
		return nil, fmt.Errorf("history: %w", err)
	}
	switch o.Sync {
	case SyncEveryTick:
		cfg.SyncPolicy = buntdb.Always
	case SyncNever:
		cfg.SyncPolicy = buntdb.Never
	default:
		cfg.SyncPolicy = buntdb.EverySecond
	}
	if err := db.SetConfig(cfg); err != nil {
		db.Close()
		return nil, fmt.Errorf("history: %w", err)
	}
	// Indexes live in memory and are rebuilt on open; only run records are
	// indexed (a few per plan), ticks are found by key order.
	if err := db.CreateIndex(indexByPlan, runPrefix+"*", buntdb.IndexJSON("plan")); err != nil {
		db.Close()
		return nil, fmt.Errorf("history: %w", err)
	}
	if err := createModelIndexes(db); err != nil {
		db.Close()
		return nil, fmt.Errorf("history: %w", err)
	}
	return &Store{db: db, path: path, lock: lock, readOnly: readOnly}, nil
}

// ErrBusy is returned by writes to a store opened while another process
// was writing the same file (see Open).
var ErrBusy = errors.New("the history file is being written by another loadshaper process; this one can only read it")

// lockFile takes an exclusive lock on the history's lock file. When
// another process holds it, the store is opened read-only instead.
func lockFile(path string) (f *os.File, busy bool, err error) {
	f, err = os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o644)
	if err != nil {
		return nil, false, err
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
		f.Close()
		if errors.Is(err, syscall.EWOULDBLOCK) {
			return nil, true, nil
		}
		return nil, false, fmt.Errorf("lock %s: %w", path, err)
	}
	return f, false, nil
}

// openSnapshot loads the file into memory without touching it: buntdb's
// own Open would truncate a command the writer is in the middle of.
func openSnapshot(path string) (*buntdb.DB, error) {
	db, err := buntdb.Open(":memory:")
	if err != nil {
		return nil, err
	}
	f, err := os.Open(path)
	if errors.Is(err, os.ErrNotExist) {
		return db, nil
	}
	if err != nil {
		db.Close()
		return nil, err
	}
	defer f.Close()
	// A torn last command is the writer's tick in progress: skip it.
	if err := db.Load(f); err != nil && !errors.Is(err, io.ErrUnexpectedEOF) {
		db.Close()
		return nil, err
	}
	return db, nil
}

// ReadOnly reports whether another process was writing the file when it
// was opened: the store is then a snapshot that cannot be written.
func (s *Store) ReadOnly() bool { return s.readOnly }

func (s *Store) writable() error {
	if s.readOnly {
		return fmt.Errorf("history: %s: %w", s.path, ErrBusy)
	}
	return nil
}

// Path is the file the store was opened from.
func (s *Store) Path() string { return s.path }

// Close flushes and closes the file.
func (s *Store) Close() error {
	err := s.db.Close()
	if s.lock != nil {
		s.lock.Close() // releases the lock
	}
	return err
}

// Shrink rewrites the append-only file to hold only live data.
func (s *Store) Shrink() error {
	if err := s.writable(); err != nil {
		return err
	}
	return s.db.Shrink()
}

// ErrNoRun is returned for a run id that is not in the history.
var ErrNoRun = errors.New("no such run")

func (s *Store) newRun(tx *buntdb.Tx, r *Run) error {
	last := 0
	if v, err := tx.Get(keyNextRun); err == nil {
		last, _ = strconv.Atoi(v)
	} else if err != buntdb.ErrNotFound {
		return err
	}
	r.ID = last + 1
	if _, _, err := tx.Set(keyNextRun, strconv.Itoa(r.ID), nil); err != nil {
		return err
	}
	return putRun(tx, r)
}

func putRun(tx *buntdb.Tx, r *Run) error {
	b, err := json.Marshal(r)
	if err != nil {
		return err
	}
	_, _, err = tx.Set(runKey(r.ID), string(b), nil)
	return err
}

// Run returns one run's record.
func (s *Store) Run(id int) (Run, error) {
	var r Run
	err := s.db.View(func(tx *buntdb.Tx) error {
		v, err := tx.Get(runKey(id))
		if err == buntdb.ErrNotFound {
			return fmt.Errorf("history: run %d: %w", id, ErrNoRun)
		}
		if err != nil {
			return err
		}
		return json.Unmarshal([]byte(v), &r)
	})
	return r, err
}

// Runs returns every run, oldest first.
func (s *Store) Runs() ([]Run, error) {
	var runs []Run
	var bad error
	err := s.db.View(func(tx *buntdb.Tx) error {
		return tx.AscendRange("", runPrefix, "run;", func(k, v string) bool {
			var r Run
			if err := json.Unmarshal([]byte(v), &r); err != nil {
				bad = fmt.Errorf("history: %s: %w", k, err)
				return false
			}
			runs = append(runs, r)
			return true
		})
	})
	if err == nil {
		err = bad
	}
	return runs, err
}

// LatestRuns returns up to n runs of the named plan, newest first (n <= 0:
// all of them). Predictors use it to learn from earlier runs.
func (s *Store) LatestRuns(plan string, n int) ([]Run, error) {
	pivot, err := json.Marshal(map[string]string{"plan": plan})
	if err != nil {
		return nil, err
	}
	var runs []Run
	var bad error
	err = s.db.View(func(tx *buntdb.Tx) error {
		return tx.DescendEqual(indexByPlan, string(pivot), func(k, v string) bool {
			var r Run
			if err := json.Unmarshal([]byte(v), &r); err != nil {
				bad = fmt.Errorf("history: %s: %w", k, err)
				return false
			}
			runs = append(runs, r)
			return n <= 0 || len(runs) < n
		})
	})
	if err == nil {
		err = bad
	}
	return runs, err
}

// DeleteRun removes a run and all its ticks.
func (s *Store) DeleteRun(id int) error {
	if err := s.writable(); err != nil {
		return err
	}
	return s.db.Update(func(tx *buntdb.Tx) error {
		if _, err := tx.Delete(runKey(id)); err == buntdb.ErrNotFound {
			return fmt.Errorf("history: run %d: %w", id, ErrNoRun)
		} else if err != nil {
			return err
		}
		return deleteTicks(tx, id)
	})
}

func deleteTicks(tx *buntdb.Tx, id int) error {
	var keys []string
	for _, p := range []string{tickRunPrefix(id), fmt.Sprintf("series:%08d:", id)} {
		if err := tx.AscendRange("", p, p+"\xff", func(k, _ string) bool {
			keys = append(keys, k)
			return true
		}); err != nil {
			return err
		}
	}
	if _, err := tx.Delete(chunkMarkerKey(id)); err != nil && err != buntdb.ErrNotFound {
		return err
	}
	for _, k := range keys {
		if _, err := tx.Delete(k); err != nil {
			return err
		}
	}
	return nil
}

// Prune deletes the runs that ended (or, if unfinished, started) before
// now-keep, then compacts the file. It returns the ids it removed.
func (s *Store) Prune(keep time.Duration, now time.Time) ([]int, error) {
	if keep <= 0 {
		return nil, errors.New("history: keep must be a positive duration")
	}
	if err := s.writable(); err != nil {
		return nil, err
	}
	runs, err := s.Runs()
	if err != nil {
		return nil, err
	}
	cutoff := now.Add(-keep)
	var gone []int
	for _, r := range runs {
		t := r.End
		if t.IsZero() {
			t = r.Start
		}
		if t.Before(cutoff) {
			if err := s.DeleteRun(r.ID); err != nil {
				return gone, err
			}
			gone = append(gone, r.ID)
		}
	}
	if len(gone) > 0 && s.path != ":memory:" {
		if err := s.db.Shrink(); err != nil {
			return gone, fmt.Errorf("history: compact: %w", err)
		}
	}
	sort.Ints(gone)
	return gone, nil
}

// ParseRunID reads a run id as users type it ("42" or "#42").
func ParseRunID(s string) (int, error) {
	id, err := strconv.Atoi(strings.TrimPrefix(s, "#"))
	if err != nil || id <= 0 {
		return 0, fmt.Errorf("bad run id %q: want a positive number as `history list` shows", s)
	}
	return id, nil
}

// ParseKeep reads a retention period: a Go duration ("36h") or a whole
// number of days or weeks ("90d", "2w").
func ParseKeep(s string) (time.Duration, error) {
	s = strings.TrimSpace(s)
	mult := time.Duration(0)
	switch {
	case strings.HasSuffix(s, "d"):
		mult = 24 * time.Hour
	case strings.HasSuffix(s, "w"):
		mult = 7 * 24 * time.Hour
	}
	if mult != 0 {
		n, err := strconv.Atoi(s[:len(s)-1])
		if err != nil || n <= 0 {
			return 0, fmt.Errorf("bad retention %q: want e.g. 90d, 2w or 36h", s)
		}
		return time.Duration(n) * mult, nil
	}
	d, err := time.ParseDuration(s)
	if err != nil || d <= 0 {
		return 0, fmt.Errorf("bad retention %q: want e.g. 90d, 2w or 36h", s)
	}
	return d, nil
}
