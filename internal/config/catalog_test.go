package config

import (
	"strings"
	"testing"
)

func TestCatalogURL(t *testing.T) {
	for _, u := range []string{
		"postgres://classcast:s3cret@db.example:5432/classcast?sslmode=require",
		"postgresql://classcast@10.0.0.5/classcast",
		"sqlite:///var/lib/classcast/catalog.db",
	} {
		c, err := Load(writeFile(t, "catalog:\n  url: \""+u+"\"\n"), true, nil)
		if err != nil {
			t.Errorf("%s: %v", u, err)
			continue
		}
		if c.Catalog.URL != u {
			t.Errorf("catalog.url %q, want %q", c.Catalog.URL, u)
		}
		if r := c.Redacted().Catalog.URL; strings.Contains(r, "s3cret") {
			t.Errorf("Redacted keeps the password: %s", r)
		}
	}

	// A wrong URL names the key and never shows the password, even when it cannot be
	// parsed as a URL at all.
	for _, u := range []string{
		"mysql://classcast:s3cret@db/classcast",
		"postgres://classcast:s3cret@db:notaport/classcast",
	} {
		_, err := Load(writeFile(t, "catalog:\n  url: \""+u+"\"\n"), true, nil)
		if err == nil || !strings.Contains(err.Error(), "catalog.url") {
			t.Errorf("%s: error %v does not name catalog.url", u, err)
		} else if strings.Contains(err.Error(), "s3cret") {
			t.Errorf("password in error: %v", err)
		}
	}

	t.Setenv("CLASSCAST_CATALOG_URL", "postgres://classcast:s3cret@db/classcast")
	if c, err := Load("", false, nil); err != nil || c.Catalog.URL != "postgres://classcast:s3cret@db/classcast" {
		t.Fatalf("from env: %+v %v", c.Catalog, err)
	}
}
