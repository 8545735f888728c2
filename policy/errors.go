package policy

import (
	"fmt"
	"sort"
	"strings"
)

// Error is one problem in a configuration, at a position.
type Error struct {
	File string
	Pos
	Msg string
}

func (e *Error) Error() string {
	if e.Line == 0 {
		return fmt.Sprintf("%s: %s", e.File, e.Msg)
	}
	return fmt.Sprintf("%s:%d:%d: %s", e.File, e.Line, e.Col, e.Msg)
}

// Errors are all the problems found in a configuration, in file order.
type Errors struct {
	File string
	List []*Error
}

func (es *Errors) add(p Pos, format string, args ...any) {
	es.List = append(es.List, &Error{File: es.File, Pos: p, Msg: fmt.Sprintf(format, args...)})
}

func (es *Errors) Error() string {
	var b strings.Builder
	for i, e := range es.List {
		if i > 0 {
			b.WriteByte('\n')
		}
		b.WriteString(e.Error())
	}
	return b.String()
}

func (es *Errors) sort() {
	sort.SliceStable(es.List, func(i, j int) bool {
		a, b := es.List[i], es.List[j]
		if a.Line != b.Line {
			return a.Line < b.Line
		}
		return a.Col < b.Col
	})
	// drop exact duplicates
	out := es.List[:0]
	for i, e := range es.List {
		if i > 0 && e.Error() == es.List[i-1].Error() {
			continue
		}
		out = append(out, e)
	}
	es.List = out
}

func (es *Errors) err() error {
	if len(es.List) == 0 {
		return nil
	}
	es.sort()
	return es
}
