//go:build !unix

package hostile

func fdLimit() int { return -1 }
