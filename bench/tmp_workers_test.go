package bench

import (
	"os"
	"runtime"
	"strconv"
)

func tmpWorkers() int {
	if w, err := strconv.Atoi(os.Getenv("BW")); err == nil {
		return w
	}
	return runtime.GOMAXPROCS(0)
}
