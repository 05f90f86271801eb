package engine

import (
	"github.com/meridian-olap/meridian/internal/dax"
	"github.com/meridian-olap/meridian/internal/value"
)

// vectorRows evaluates an expression for every row of a materialized
// table at once when it can (ok true); else the caller evaluates row by
// row.
func (ev *evaluator) vectorRows(e dax.Expr, en *env, cols []colInfo, rows [][]value.Value) ([]value.Value, bool, error) {
	return nil, false, nil
}

// vectorGroups evaluates an expression for every group at once when it
// can (ok true); else the caller evaluates group by group.
func (ev *evaluator) vectorGroups(e dax.Expr, en *env, cols []*Column, keys [][]uint32) ([]value.Value, bool, error) {
	return nil, false, nil
}
