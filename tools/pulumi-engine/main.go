// Command pulumi is a slim Pulumi CLI built from the engine's Go module, for machines where the
// official CLI cannot be downloaded. It carries only the verbs the Automation API and our operator
// tool use; the root command's flags and start-up follow the upstream root command.
package main

import (
	"log"
	"log/slog"
	"os"

	"github.com/spf13/cobra"

	"github.com/pulumi/pulumi/pkg/v3/backend"
	"github.com/pulumi/pulumi/pkg/v3/cmd/pulumi/auth"
	cmdBackend "github.com/pulumi/pulumi/pkg/v3/cmd/pulumi/backend"
	"github.com/pulumi/pulumi/pkg/v3/cmd/pulumi/cancel"
	cliCmd "github.com/pulumi/pulumi/pkg/v3/cmd/pulumi/cmd"
	"github.com/pulumi/pulumi/pkg/v3/cmd/pulumi/config"
	"github.com/pulumi/pulumi/pkg/v3/cmd/pulumi/operations"
	"github.com/pulumi/pulumi/pkg/v3/cmd/pulumi/plugin"
	cmdStack "github.com/pulumi/pulumi/pkg/v3/cmd/pulumi/stack"
	"github.com/pulumi/pulumi/pkg/v3/cmd/pulumi/state"
	cmdVersion "github.com/pulumi/pulumi/pkg/v3/cmd/pulumi/version"
	"github.com/pulumi/pulumi/pkg/v3/cmd/pulumi/whoami"
	pkgWorkspace "github.com/pulumi/pulumi/pkg/v3/workspace"
	"github.com/pulumi/pulumi/sdk/v3/go/common/env"
	"github.com/pulumi/pulumi/sdk/v3/go/common/util/cmdutil"
	"github.com/pulumi/pulumi/sdk/v3/go/common/util/logging"
	"github.com/pulumi/pulumi/sdk/v3/go/common/version"
)

// logWriter sends the standard logger (used by gocloud blob drivers) into Pulumi's logging.
type logWriter struct{}

func (logWriter) Write(b []byte) (int, error) {
	slog.Info(string(b))
	return len(b), nil
}

func newRootCmd() *cobra.Command {
	var (
		cwd         string
		logFlow     bool
		logToStderr bool
		tracing     string
		verbose     int
		color       string
	)
	root := &cobra.Command{
		Use:           "pulumi",
		Short:         "Pulumi engine (offline build for rollback-as-code)",
		Version:       version.Version,
		SilenceErrors: true,
		SilenceUsage:  true,
		PersistentPreRunE: func(c *cobra.Command, _ []string) error {
			if f := c.Flag("color"); f != nil {
				if err := cmdutil.SetGlobalColorization(f.Value.String()); err != nil {
					return err
				}
			}
			if cwd != "" {
				if err := os.Chdir(cwd); err != nil {
					return err
				}
			}
			logging.InitLogging(logToStderr, verbose, logFlow)
			cmdutil.InitTracing("pulumi-cli", "pulumi", tracing)
			log.SetOutput(logWriter{})
			return nil
		},
	}
	root.SetVersionTemplate("{{.Version}}\n")
	pf := root.PersistentFlags()
	pf.StringVarP(&cwd, "cwd", "C", "", "Run pulumi as if it had been started in another directory")
	pf.BoolVarP(&cmdutil.Emoji, "emoji", "e", false, "Enable emojis in the output")
	pf.BoolVarP(&cmdutil.FullyQualifyStackNames, "fully-qualify-stack-names", "Q", false,
		"Show fully-qualified stack names")
	pf.BoolVar(&backend.DisableIntegrityChecking, "disable-integrity-checking", false,
		"Disable integrity checking of checkpoint files")
	pf.BoolVar(&logFlow, "logflow", false, "Flow log settings to child processes (like plugins)")
	pf.BoolVar(&logToStderr, "logtostderr", false, "Log to stderr instead of to files")
	pf.BoolVar(&cmdutil.DisableInteractive, "non-interactive", false, "Disable interactive mode for all commands")
	pf.StringVar(&tracing, "tracing", "", "Emit tracing to the specified endpoint (file: scheme for a local file)")
	pf.IntVarP(&verbose, "verbose", "v", 0, "Enable verbose logging (e.g., v=3); anything >3 is very verbose")
	pf.StringVar(&color, "color", "auto", "Colorize output. Choices are: always, never, raw, auto")

	ws := pkgWorkspace.Instance
	root.AddCommand(
		operations.NewUpCmd(),
		operations.NewPreviewCmd(),
		operations.NewDestroyCmd(),
		operations.NewRefreshCmd(),
		operations.NewImportCmd(),
		cmdStack.NewStackCmd(),
		config.NewConfigCmd(ws),
		state.NewStateCmd(),
		plugin.NewPluginCmd(),
		cmdVersion.NewVersionCmd(),
		cancel.NewCancelCmd(ws),
		auth.NewLoginCmd(ws, cmdBackend.DefaultLoginManager, env.Global()),
		auth.NewLogoutCmd(ws),
		whoami.NewWhoAmICmd(ws, cmdBackend.DefaultLoginManager),
	)
	root.CompletionOptions.DisableDefaultCmd = true
	return root
}

func main() {
	root := newRootCmd()
	err := root.Execute()
	logging.Flush()
	cmdutil.CloseTracing()
	if err != nil {
		cliCmd.DisplayErrorMessage(root.Context(), err, root.ErrOrStderr())
		os.Exit(cliCmd.ExitCodeFor(err))
	}
}
