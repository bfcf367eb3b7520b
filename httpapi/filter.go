package httpapi

import (
	"fmt"

	bexpr "github.com/hashicorp/go-bexpr"
)

// filter is a compiled ?filter expression for elements of one type (the
// go-bexpr library Consul itself uses, so the grammar, the selectors (the
// element's exported fields minus those tagged `bexpr:"-"`) and the error
// text are Consul's). A nil filter keeps everything.
type filter struct {
	f *bexpr.Filter
}

// parseFilter compiles ?filter for elements like elem. It runs before the
// read, so an invalid expression answers 400 at once instead of after a
// blocking wait; the read's index is never affected by the filter (as in
// Consul, a blocking query wakes on any change and answers the filtered
// result).
func parseFilter(q *request, elem any) (*filter, error) {
	expr := q.query.Get("filter")
	if expr == "" {
		return nil, nil
	}
	f, err := bexpr.CreateFilter(expr, nil, elem)
	if err != nil {
		// bexpr's text already reads "Failed to create boolean expression
		// evaluator: ...", Consul's message.
		return nil, badRequest(err.Error())
	}
	return &filter{f: f}, nil
}

// apply filters a slice or map of the compiled element type.
func apply[S any](f *filter, data S) (S, error) {
	if f == nil {
		return data, nil
	}
	out, err := f.f.Execute(data)
	if err != nil {
		var zero S
		return zero, fmt.Errorf("filter: %w", err)
	}
	return out.(S), nil
}
