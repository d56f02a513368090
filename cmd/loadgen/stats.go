package main

import (
	"slices"
	"time"
)

// A dist is the shape of one run's latencies: the percentiles the tables
// quote and how many values they came from.
type dist struct {
	N   int           `json:"n"`
	P50 time.Duration `json:"p50"`
	P99 time.Duration `json:"p99"`
	Max time.Duration `json:"max"`
}

// distOf summarises ds by nearest rank. An empty ds gives a zero dist.
func distOf(ds []time.Duration) dist {
	if len(ds) == 0 {
		return dist{}
	}
	s := slices.Clone(ds)
	slices.Sort(s)
	return dist{N: len(s), P50: rank(s, 0.50), P99: rank(s, 0.99), Max: s[len(s)-1]}
}

// rank is the nearest-rank percentile p of sorted s.
func rank(s []time.Duration, p float64) time.Duration {
	i := int(p*float64(len(s))+0.999999) - 1
	return s[min(max(i, 0), len(s)-1)]
}

// A spread is one figure over the runs of a configuration: the median,
// which the tables compare, and the range, which shows the noise.
type spread struct {
	Med, Min, Max float64
	Runs          int
}

func spreadOf(vals []float64) spread {
	if len(vals) == 0 {
		return spread{}
	}
	s := slices.Clone(vals)
	slices.Sort(s)
	med := s[len(s)/2]
	if len(s)%2 == 0 {
		med = (s[len(s)/2-1] + s[len(s)/2]) / 2
	}
	return spread{Med: med, Min: s[0], Max: s[len(s)-1], Runs: len(s)}
}

// pairDiff subtracts b from a element by element, for the overhead of
// each command over the room call it made. It gives nil unless the two
// line up one to one.
func pairDiff(a, b []time.Duration) []time.Duration {
	if len(a) != len(b) || len(a) == 0 {
		return nil
	}
	out := make([]time.Duration, len(a))
	for i := range a {
		out[i] = a[i] - b[i]
	}
	return out
}
