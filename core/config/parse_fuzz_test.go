package config

import (
	"bytes"
	"errors"
	"testing"
)

// emptyFileMsg is the one error about the whole file, which has no line
// or key to name.
const emptyFileMsg = "the file is empty"

// FuzzParse feeds arbitrary bytes to Parse as a config file's content (the
// seeds are testdata/good and testdata/bad). It must never panic, and a
// refused file gets an *Errors whose every entry names the file and a line
// or a key, so the operator can find the problem.
func FuzzParse(f *testing.F) {
	f.Fuzz(func(t *testing.T, data []byte) {
		// Paths in the config are read (TLS files, ca_file): keep the
		// fuzzer away from device files that never end.
		for _, dev := range []string{"dev/", "proc/", "sys/", "fd/"} {
			if bytes.Contains(data, []byte(dev)) {
				t.Skip("refers to a device file")
			}
		}
		const file = "testdata/good/fuzz.yaml" // relative paths resolve as the seeds' do
		c, err := Parse(file, data)
		if err == nil {
			if c == nil {
				t.Fatal("Parse returned neither a config nor an error")
			}
			return
		}
		var errs *Errors
		if !errors.As(err, &errs) || len(errs.List) == 0 {
			t.Fatalf("Parse error is %T with no FieldErrors: %v", err, err)
		}
		for _, fe := range errs.List {
			if fe.File != file {
				t.Errorf("error does not name the file: %v", fe)
			}
			if fe.Line <= 0 && fe.Key == "" && !bytes.HasPrefix([]byte(fe.Msg), []byte(emptyFileMsg)) {
				t.Errorf("error names neither a line nor a key: %q\ninput: %q", fe.Error(), data)
			}
			if fe.Msg == "" {
				t.Errorf("error without a message: %+v", fe)
			}
		}
	})
}
