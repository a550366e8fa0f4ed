// Command pulumi-language-python is the Python language host for the offline engine build: the engine starts it
// to run a project's Python program (`pulumi preview`/`up` in a directory with Pulumi.yaml). It resolves the
// interpreter the way the official host does (the SDK's python/toolchain: `virtualenv`/`toolchain` options of
// Pulumi.yaml) and runs the SDK's own pulumi-language-python-exec runner, shipped next to this binary.
package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"

	pbempty "google.golang.org/protobuf/types/known/emptypb"
	"google.golang.org/grpc"

	"github.com/pulumi/pulumi/sdk/v3/go/common/util/cmdutil"
	"github.com/pulumi/pulumi/sdk/v3/go/common/util/rpcutil"
	"github.com/pulumi/pulumi/sdk/v3/go/common/version"
	pulumirpc "github.com/pulumi/pulumi/sdk/v3/proto/go"
	"github.com/pulumi/pulumi/sdk/v3/python/toolchain"
)

// userActionableExit is the runner's exit code after it has shown the user an error (the official host's contract).
const userActionableExit = 32

type host struct {
	pulumirpc.UnimplementedLanguageRuntimeServer
	engineAddress string
	runner        string
}

func main() {
	flag.String("tracing", "", "Emit tracing to a Zipkin-compatible tracing endpoint (accepted, unused)")
	flag.Parse()
	if flag.NArg() < 1 {
		cmdutil.Exit(errors.New("missing required engine RPC address argument"))
	}
	self, err := os.Executable()
	if err != nil {
		cmdutil.Exit(err)
	}
	h := &host{engineAddress: flag.Arg(0), runner: filepath.Join(filepath.Dir(self), "pulumi-language-python-exec")}
	handle, err := rpcutil.ServeWithOptions(rpcutil.ServeOptions{
		Init: func(srv *grpc.Server) error {
			pulumirpc.RegisterLanguageRuntimeServer(srv, h)
			return nil
		},
		Options: rpcutil.OpenTracingServerInterceptorOptions(nil),
	})
	if err != nil {
		cmdutil.Exit(fmt.Errorf("could not start the language host RPC server: %w", err))
	}
	fmt.Printf("%d\n", handle.Port)
	if err := <-handle.Done; err != nil {
		cmdutil.Exit(err)
	}
}

// Handshake accepts the engine's address and directories; nothing is needed from it beyond its address.
func (h *host) Handshake(_ context.Context, req *pulumirpc.LanguageHandshakeRequest,
) (*pulumirpc.LanguageHandshakeResponse, error) {
	if req.GetEngineAddress() != "" {
		h.engineAddress = req.GetEngineAddress()
	}
	return &pulumirpc.LanguageHandshakeResponse{}, nil
}

// GetRequiredPlugins reports none: provider plugins load when the program first registers one of their resources.
func (h *host) GetRequiredPlugins(context.Context, *pulumirpc.GetRequiredPluginsRequest,
) (*pulumirpc.GetRequiredPluginsResponse, error) {
	return &pulumirpc.GetRequiredPluginsResponse{}, nil
}

// GetRequiredPackages reports none, for the same reason.
func (h *host) GetRequiredPackages(context.Context, *pulumirpc.GetRequiredPackagesRequest,
) (*pulumirpc.GetRequiredPackagesResponse, error) {
	return &pulumirpc.GetRequiredPackagesResponse{}, nil
}

// GetPluginInfo reports the engine version this host was built with.
func (h *host) GetPluginInfo(context.Context, *pbempty.Empty) (*pulumirpc.PluginInfo, error) {
	return &pulumirpc.PluginInfo{Version: version.Version}, nil
}

// About reports the interpreter the project's options select.
func (h *host) About(ctx context.Context, req *pulumirpc.AboutRequest) (*pulumirpc.AboutResponse, error) {
	tc, err := resolve(req.GetInfo())
	if err != nil {
		return nil, err
	}
	info, err := tc.About(ctx)
	if err != nil {
		return nil, err
	}
	return &pulumirpc.AboutResponse{Executable: info.PythonExecutable, Version: info.PythonVersion.String()}, nil
}

// Run runs the program with the project's interpreter and the SDK's runner, as the official host does.
func (h *host) Run(ctx context.Context, req *pulumirpc.RunRequest) (*pulumirpc.RunResponse, error) {
	info := req.GetInfo()
	tc, err := resolve(info)
	if err != nil {
		return &pulumirpc.RunResponse{Error: err.Error()}, nil
	}
	if err := tc.ValidateVenv(ctx); err != nil {
		return &pulumirpc.RunResponse{Error: err.Error()}, nil
	}
	config, err := json.Marshal(req.GetConfig())
	if err != nil {
		return nil, err
	}
	secretKeys, err := json.Marshal(req.GetConfigSecretKeys())
	if err != nil {
		return nil, err
	}
	entry := info.GetEntryPoint()
	if entry == "" {
		entry = "."
	}
	args := []string{
		"-u", h.runner,
		"--monitor", req.GetMonitorAddress(), "--engine", h.engineAddress,
		"--project", req.GetProject(), "--stack", req.GetStack(), "--organization", req.GetOrganization(),
		"--pwd", req.GetPwd(), "--root_directory", info.GetRootDirectory(),
		"--dry_run", strconv.FormatBool(req.GetDryRun()), "--parallel", strconv.Itoa(int(req.GetParallel())),
		entry,
	}
	cmd, err := tc.Command(ctx, append(args, req.GetArgs()...)...)
	if err != nil {
		return nil, err
	}
	if cmd.Env == nil {
		cmd.Env = os.Environ()
	}
	cmd.Env = append(cmd.Env, "PULUMI_CONFIG="+string(config), "PULUMI_CONFIG_SECRET_KEYS="+string(secretKeys))
	cmd.Dir = req.GetPwd()
	cmd.Stdout, cmd.Stderr = os.Stdout, os.Stderr
	if err := cmd.Run(); err != nil {
		var exit *exec.ExitError
		if errors.As(err, &exit) {
			if exit.ExitCode() == userActionableExit {
				return &pulumirpc.RunResponse{Bail: true}, nil
			}
			return &pulumirpc.RunResponse{Error: fmt.Sprintf("Program exited with non-zero exit code: %d",
				exit.ExitCode())}, nil
		}
		return &pulumirpc.RunResponse{Error: fmt.Sprintf("could not run %s: %v", cmd.Path, err)}, nil
	}
	return &pulumirpc.RunResponse{}, nil
}

// resolve picks the interpreter from Pulumi.yaml's runtime options (virtualenv, toolchain) like the official host.
func resolve(info *pulumirpc.ProgramInfo) (toolchain.Toolchain, error) {
	opts := map[string]any{}
	if info.GetOptions() != nil {
		opts = info.GetOptions().AsMap()
	}
	virtualenv, _ := opts["virtualenv"].(string)
	choice := toolchain.Auto
	switch opts["toolchain"] {
	case nil, "":
	case "pip":
		choice = toolchain.Pip
	case "poetry":
		choice = toolchain.Poetry
	case "uv":
		choice = toolchain.Uv
	default:
		return nil, fmt.Errorf("Pulumi.yaml: runtime.options.toolchain %q is not one of pip, poetry, uv", opts["toolchain"])
	}
	return toolchain.ResolveToolchain(toolchain.PythonOptions{
		Root: info.GetRootDirectory(), ProgramDir: info.GetProgramDirectory(), Virtualenv: virtualenv,
		Toolchain: choice,
	})
}
