// Pins golang-migrate's CLI, the reference oracle our migration runner is tested against (build.sh).
// Only the `postgres file` build tags' dependencies are required here: do not `go mod tidy`
// (tidy considers every driver's build tag and would pull in all of them).
module rollback-as-code/tools/golang-migrate

go 1.25

tool github.com/golang-migrate/migrate/v4/cmd/migrate

require (
	github.com/golang-migrate/migrate/v4 v4.19.1 // indirect
	github.com/lib/pq v1.10.9 // indirect
)
