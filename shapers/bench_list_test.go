package shapers

// benchStrategies are the four built-ins of BenchmarkChainTick.
var benchStrategies = []string{"safe", "safe", "safe", "safe"}
