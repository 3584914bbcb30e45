package shapers

// benchStrategies are the four built-ins of BenchmarkChainTick.
var benchStrategies = []string{"predictive_rate_limit", "aimd", "gradient", "safe"}
