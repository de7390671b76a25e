// Package doccheck holds the docs to what is true: every relative link and
// #anchor between the Markdown pages resolves, and every sample output a
// page shows is the output of a run that a test repeats. It reads files
// only; nothing here touches the network.
package doccheck

import (
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"unicode"
)

// Link is one Markdown link or image of a page.
type Link struct {
	Line   int    // 1-based
	Target string // as written, e.g. "usage.md#failure-classes"
}

// inlineLink matches [text](target) and ![alt](target), with an optional
// "title" after the target.
var inlineLink = regexp.MustCompile(`!?\[[^\]]*\]\(\s*<?([^)\s>]+)>?(?:\s+"[^"]*")?\s*\)`)

// codeSpan matches inline code, whose text is never a link.
var codeSpan = regexp.MustCompile("`+[^`]*`+")

// Links returns the links of a Markdown page, outside fenced code blocks
// and code spans, in order.
func Links(markdown string) []Link {
	var links []Link
	for i, line := range proseLines(markdown) {
		if line == "" {
			continue
		}
		line = codeSpan.ReplaceAllString(line, "")
		for _, m := range inlineLink.FindAllStringSubmatch(line, -1) {
			links = append(links, Link{Line: i + 1, Target: m[1]})
		}
	}
	return links
}

// proseLines returns the page's lines with those inside fenced code blocks
// (``` or ~~~) emptied, so that line numbers still count from the top.
func proseLines(markdown string) []string {
	lines := strings.Split(markdown, "\n")
	fence := ""
	for i, line := range lines {
		t := strings.TrimLeft(line, " ")
		switch {
		case fence == "" && (strings.HasPrefix(t, "```") || strings.HasPrefix(t, "~~~")):
			fence = t[:3]
			lines[i] = ""
		case fence != "":
			if strings.HasPrefix(t, fence) {
				fence = ""
			}
			lines[i] = ""
		}
	}
	return lines
}

// heading matches an ATX heading: # to ######, then its text.
var heading = regexp.MustCompile(`^ {0,3}(#{1,6})\s+(.*?)\s*#*\s*$`)

// markdownLink is a link in a heading, whose anchor keeps only its text.
var markdownLink = regexp.MustCompile(`!?\[([^\]]*)\]\([^)]*\)`)

// Slug is the anchor GitHub gives a heading: its text as rendered (code
// spans' backticks, emphasis markers and links' targets dropped),
// lower-cased, with every character that is not a letter, a mark, a
// digit, a connector such as '_', a space or a hyphen removed, and each
// space turned into a hyphen.
func Slug(text string) string {
	text = markdownLink.ReplaceAllString(text, "$1")
	var b strings.Builder
	for _, r := range strings.ToLower(text) {
		switch {
		case r == ' ':
			b.WriteRune('-')
		case r == '-', unicode.IsLetter(r), unicode.IsMark(r), unicode.IsDigit(r), unicode.Is(unicode.Pc, r):
			b.WriteRune(r)
		}
	}
	return b.String()
}

// htmlAnchor matches an anchor written as HTML: <a name="x"> or id="x".
var htmlAnchor = regexp.MustCompile(`<a\s+(?:name|id)="([^"]+)"`)

// Anchors returns every #anchor a page has: a slug per heading, with -1,
// -2, … appended to repeats as GitHub does, and any HTML anchor.
func Anchors(markdown string) map[string]bool {
	anchors := map[string]bool{}
	seen := map[string]int{}
	for _, line := range proseLines(markdown) {
		if m := heading.FindStringSubmatch(line); m != nil {
			s := Slug(m[2])
			if n := seen[s]; n > 0 {
				anchors[fmt.Sprintf("%s-%d", s, n)] = true
			} else {
				anchors[s] = true
			}
			seen[s]++
		}
		for _, m := range htmlAnchor.FindAllStringSubmatch(line, -1) {
			anchors[m[1]] = true
		}
	}
	return anchors
}

// external says whether a link leaves the repository.
func external(target string) bool {
	for _, p := range []string{"http://", "https://", "mailto:", "//"} {
		if strings.HasPrefix(target, p) {
			return true
		}
	}
	return false
}

// CheckLinks reads the pages (paths relative to root) and returns one
// line per relative link that does not resolve: a file or directory that
// does not exist, or an #anchor that the linked page (or the page itself)
// does not have. External links are not followed.
func CheckLinks(root string, pages []string) ([]string, error) {
	texts := map[string]string{}
	read := func(rel string) (string, error) {
		if s, ok := texts[rel]; ok {
			return s, nil
		}
		b, err := os.ReadFile(filepath.Join(root, rel))
		if err != nil {
			return "", err
		}
		texts[rel] = string(b)
		return string(b), nil
	}
	var broken []string
	for _, page := range pages {
		text, err := read(page)
		if err != nil {
			return nil, fmt.Errorf("can't read a page to check: %w", err)
		}
		for _, l := range Links(text) {
			if external(l.Target) {
				continue
			}
			path, anchor, _ := strings.Cut(l.Target, "#")
			where := fmt.Sprintf("%s:%d: %s", page, l.Line, l.Target)
			dest := page
			if path != "" {
				if filepath.IsAbs(path) || strings.HasPrefix(path, "/") {
					broken = append(broken, where+": an absolute path, which GitHub does not resolve within the repository")
					continue
				}
				dest = filepath.Clean(filepath.Join(filepath.Dir(page), path))
				if strings.HasPrefix(dest, "..") {
					broken = append(broken, where+": outside the repository")
					continue
				}
				if _, err := os.Stat(filepath.Join(root, dest)); err != nil {
					broken = append(broken, where+": no such file")
					continue
				}
			}
			if anchor == "" {
				continue
			}
			if !strings.HasSuffix(dest, ".md") {
				broken = append(broken, where+": an anchor into a file that is not Markdown")
				continue
			}
			destText, err := read(dest)
			if err != nil {
				broken = append(broken, where+": "+err.Error())
				continue
			}
			if !Anchors(destText)[anchor] {
				broken = append(broken, fmt.Sprintf("%s: %s has no heading with the anchor #%s", where, dest, anchor))
			}
		}
	}
	return broken, nil
}
