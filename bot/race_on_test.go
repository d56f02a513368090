//go:build race

package bot_test

// raceDetector reports whether the tests run under the race detector,
// which makes the bot's goroutines several times slower.
const raceDetector = true
