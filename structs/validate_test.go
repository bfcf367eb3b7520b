package structs

import (
	"regexp"
	"strings"
	"testing"
)

var consulMetaKey = regexp.MustCompile(`^[a-zA-Z0-9_-]+$`)

func FuzzValidateMeta(f *testing.F) {
	for _, s := range []string{"", "a", "consul-x", "a.b", "k_1-2", strings.Repeat("k", 129), "ü"} {
		f.Add(s, "v", false)
		f.Add(s, strings.Repeat("v", 513), true)
	}
	f.Fuzz(func(t *testing.T, key, value string, allowReserved bool) {
		err := ValidateMeta(map[string]string{key: value}, allowReserved)
		want := consulMetaKey.MatchString(key) && len(key) <= MetaKeyMaxLength && len(value) <= MetaValueMaxLength &&
			(allowReserved || !strings.HasPrefix(key, MetaReservedPrefix))
		if (err == nil) != want {
			t.Fatalf("ValidateMeta(%q, %d bytes, %v) = %v, want ok=%v", key, len(value), allowReserved, err, want)
		}
	})
}
