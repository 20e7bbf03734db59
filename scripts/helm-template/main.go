// helm-template renders a Helm chart the way `helm template` does, for machines where Helm
// itself is not installable (it is packaged neither in Debian bookworm nor on PyPI/npm here).
// It uses the same engine Helm uses: Go's text/template with the sprig function library, plus
// Helm's own helpers (include, required, toYaml, nindent via sprig, tpl), `.Values`,
// `.Release`, `.Chart` and `.Capabilities`. Files in crds/ are emitted first, verbatim, as
// Helm installs them. Not covered: subcharts, hooks, lookup (returns an empty map), schema
// validation of values.
//
// Usage: helm-template [-namespace NS] [-name RELEASE] [-f extra-values.yaml] CHART_DIR
package main

import (
	"bytes"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"text/template"

	"github.com/Masterminds/sprig/v3"
	"gopkg.in/yaml.v3"
)

func readYAML(path string) (map[string]interface{}, error) {
	out := map[string]interface{}{}
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	if err := yaml.Unmarshal(b, &out); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return out, nil
}

// merge overlays b onto a (maps merged recursively, everything else replaced).
func merge(a, b map[string]interface{}) map[string]interface{} {
	for k, v := range b {
		if bm, ok := v.(map[string]interface{}); ok {
			if am, ok := a[k].(map[string]interface{}); ok {
				a[k] = merge(am, bm)
				continue
			}
		}
		a[k] = v
	}
	return a
}

func toYAML(v interface{}) string {
	var buf bytes.Buffer
	enc := yaml.NewEncoder(&buf)
	enc.SetIndent(2)
	if err := enc.Encode(v); err != nil {
		return ""
	}
	return strings.TrimSuffix(buf.String(), "\n")
}

func main() {
	namespace := flag.String("namespace", "default", "release namespace")
	name := flag.String("name", "lustrekit", "release name")
	extra := flag.String("f", "", "extra values file")
	flag.Parse()
	if flag.NArg() != 1 {
		fmt.Fprintln(os.Stderr, "usage: helm-template [-namespace NS] [-name RELEASE] [-f values.yaml] CHART_DIR")
		os.Exit(2)
	}
	dir := flag.Arg(0)
	fail := func(err error) {
		fmt.Fprintln(os.Stderr, "helm-template:", err)
		os.Exit(1)
	}
	chart, err := readYAML(filepath.Join(dir, "Chart.yaml"))
	if err != nil {
		fail(err)
	}
	values, err := readYAML(filepath.Join(dir, "values.yaml"))
	if err != nil {
		fail(err)
	}
	if *extra != "" {
		more, err := readYAML(*extra)
		if err != nil {
			fail(err)
		}
		values = merge(values, more)
	}
	data := map[string]interface{}{
		"Values": values,
		"Release": map[string]interface{}{
			"Name": *name, "Namespace": *namespace, "Service": "Helm",
			"IsInstall": true, "IsUpgrade": false, "Revision": 1,
		},
		"Chart": map[string]interface{}{
			"Name": chart["name"], "Version": chart["version"], "AppVersion": chart["appVersion"],
		},
		"Capabilities": map[string]interface{}{
			"KubeVersion": map[string]interface{}{"Version": "v1.20.2", "Major": "1", "Minor": "20"},
		},
	}

	root := template.New("chart").Option("missingkey=zero")
	funcs := sprig.TxtFuncMap()
	funcs["toYaml"] = toYAML
	funcs["required"] = func(msg string, v interface{}) (interface{}, error) {
		if v == nil || v == "" {
			return nil, fmt.Errorf("%s", msg)
		}
		return v, nil
	}
	funcs["include"] = func(name string, v interface{}) (string, error) {
		var buf bytes.Buffer
		err := root.ExecuteTemplate(&buf, name, v)
		return buf.String(), err
	}
	funcs["tpl"] = func(text string, v interface{}) (string, error) {
		t, err := root.Clone()
		if err != nil {
			return "", err
		}
		t, err = t.New("tpl").Parse(text)
		if err != nil {
			return "", err
		}
		var buf bytes.Buffer
		err = t.Execute(&buf, v)
		return buf.String(), err
	}
	funcs["lookup"] = func(...interface{}) map[string]interface{} { return map[string]interface{}{} }
	root.Funcs(funcs)

	files, _ := filepath.Glob(filepath.Join(dir, "templates", "*"))
	sort.Strings(files)
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			fail(err)
		}
		if _, err := root.New(filepath.Base(f)).Parse(string(b)); err != nil {
			fail(err)
		}
	}
	chartName := fmt.Sprint(chart["name"])
	crds, _ := filepath.Glob(filepath.Join(dir, "crds", "*.yaml"))
	sort.Strings(crds)
	for _, f := range crds {
		b, err := os.ReadFile(f)
		if err != nil {
			fail(err)
		}
		fmt.Printf("---\n# Source: %s/crds/%s\n%s\n", chartName, filepath.Base(f), strings.TrimSpace(string(b)))
	}
	for _, f := range files {
		base := filepath.Base(f)
		if strings.HasPrefix(base, "_") || !(strings.HasSuffix(base, ".yaml") || strings.HasSuffix(base, ".yml")) {
			continue
		}
		var buf bytes.Buffer
		if err := root.ExecuteTemplate(&buf, base, data); err != nil {
			fail(err)
		}
		out := strings.TrimSpace(buf.String())
		if out == "" {
			continue
		}
		fmt.Printf("---\n# Source: %s/templates/%s\n%s\n", chartName, base, out)
	}
}
