package engine

import (
	"math/rand/v2"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

func TestTemplates(t *testing.T) {
	dir := t.TempDir()
	csvPath := filepath.Join(dir, "users.csv")
	if err := os.WriteFile(csvPath, []byte("name,id\nann,1\nbob,2\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	d, err := loadDataset(csvPath)
	if err != nil {
		t.Fatal(err)
	}
	tm, err := compileTemplate("/u/{{ data.name }}/{{seq}}?x={{rand_int}}&id={{uuid}}", d)
	if err != nil {
		t.Fatal(err)
	}
	ic := iterCtx{seq: 7, rng: rand.New(rand.NewPCG(1, 2)), row: d.rows[1]}
	got := string(tm.appendTo(nil, &ic))
	re := regexp.MustCompile(`^/u/bob/7\?x=\d+&id=[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$`)
	if !re.MatchString(got) {
		t.Fatalf("rendered %q", got)
	}
	buf := make([]byte, 0, 256)
	if n := testing.AllocsPerRun(100, func() { buf = tm.appendTo(buf[:0], &ic) }); n != 0 {
		t.Fatalf("rendering allocates %v times per request", n)
	}
	for _, bad := range []struct{ in, want string }{
		{"{{nope}}", "unknown template"},
		{"{{seq", "unclosed"},
		{"{{data.zip}}", `no column "zip"`},
	} {
		if _, err := compileTemplate(bad.in, d); err == nil || !strings.Contains(err.Error(), bad.want) {
			t.Errorf("%q: error %v, want %q", bad.in, err, bad.want)
		}
	}
	if _, err := compileTemplate("{{data.name}}", nil); err == nil || !strings.Contains(err.Error(), "data_file") {
		t.Errorf("data template without data file: %v", err)
	}
}
