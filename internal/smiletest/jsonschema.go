package smiletest

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"sort"
	"strings"
	"sync"
	"testing"

	"github.com/santhosh-tekuri/jsonschema/v6"
)

// SchemaFile is the JSON Schema of every JSON object smile writes, relative
// to the module's root.
const SchemaFile = "docs/smile.schema.json"

var (
	schemaOnce sync.Once
	schema     *jsonschema.Schema
	schemaErr  error
)

// CheckJSON says why line, one JSON object, does not follow
// docs/smile.schema.json, or nil when it does.
func CheckJSON(line []byte) error {
	schemaOnce.Do(func() { schema, schemaErr = compileSchema() })
	if schemaErr != nil {
		return schemaErr
	}
	v, err := jsonschema.UnmarshalJSON(bytes.NewReader(line))
	if err != nil {
		return fmt.Errorf("not JSON: %w", err)
	}
	return schema.Validate(v)
}

// JSONLines checks that out is one JSON object a line, each following
// docs/smile.schema.json, and returns them decoded, numbers as float64.
func JSONLines(t testing.TB, out string) []map[string]any {
	t.Helper()
	var objs []map[string]any
	for i, line := range strings.Split(strings.TrimSuffix(out, "\n"), "\n") {
		if err := CheckJSON([]byte(line)); err != nil {
			t.Fatalf("line %d does not follow %s: %v\n%s", i+1, SchemaFile, err, line)
		}
		var o map[string]any
		if err := json.Unmarshal([]byte(line), &o); err != nil {
			t.Fatalf("line %d: %v\n%s", i+1, err, line)
		}
		objs = append(objs, o)
	}
	return objs
}

func compileSchema() (*jsonschema.Schema, error) {
	root, err := ModuleRoot()
	if err != nil {
		return nil, err
	}
	path := filepath.Join(root, SchemaFile)
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	doc, err := jsonschema.UnmarshalJSON(f)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	c := jsonschema.NewCompiler()
	c.AssertFormat()
	if err := c.AddResource(path, doc); err != nil {
		return nil, err
	}
	return c.Compile(path)
}

// ModuleRoot is the directory of the go.mod above the working directory,
// which for a test is its package's directory.
func ModuleRoot() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", errors.New("no go.mod above the working directory")
		}
		dir = parent
	}
}

// JSONFields are the JSON names of t's fields, embedded structs' included,
// sorted: what a $defs entry of docs/smile.schema.json must list.
func JSONFields(t reflect.Type) []string {
	var names []string
	for i := range t.NumField() {
		f := t.Field(i)
		if f.Anonymous {
			ft := f.Type
			if ft.Kind() == reflect.Pointer {
				ft = ft.Elem() // encoding/json inlines an embedded *T's fields too
			}
			names = append(names, JSONFields(ft)...)
			continue
		}
		name, _, _ := strings.Cut(f.Tag.Get("json"), ",")
		if name != "" && name != "-" {
			names = append(names, name)
		}
	}
	sort.Strings(names)
	return slices.Compact(names)
}

// SchemaProperties are the property names of the $defs entry def of
// docs/smile.schema.json, sorted, to hold against JSONFields of its Go type.
func SchemaProperties(def string) ([]string, error) {
	root, err := ModuleRoot()
	if err != nil {
		return nil, err
	}
	b, err := os.ReadFile(filepath.Join(root, SchemaFile))
	if err != nil {
		return nil, err
	}
	var schema struct {
		Defs map[string]struct {
			Properties map[string]json.RawMessage
		} `json:"$defs"`
	}
	if err := json.Unmarshal(b, &schema); err != nil {
		return nil, fmt.Errorf("%s: %w", SchemaFile, err)
	}
	d, ok := schema.Defs[def]
	if !ok {
		return nil, fmt.Errorf("%s has no $defs/%s", SchemaFile, def)
	}
	var names []string
	for k := range d.Properties {
		names = append(names, k)
	}
	sort.Strings(names)
	return names, nil
}
