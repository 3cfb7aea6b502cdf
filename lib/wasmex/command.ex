defmodule Wasmex.Command do
  @moduledoc ~S"""
  Runs WASI commands per request: a core module's `_start` or a component's `wasi:cli/run`, each
  run in a fresh instance with its own stdin, arguments, environment and limits, like an edge
  worker that boots a guest for every request.

      iex> wat = ~S[(module
      ...>   (import "wasi_snapshot_preview1" "fd_write" (func $w (param i32 i32 i32 i32) (result i32)))
      ...>   (memory (export "memory") 1)
      ...>   (data (i32.const 8) "\10\00\00\00\02\00\00\00hi")
      ...>   (func (export "_start") (drop (call $w (i32.const 1) (i32.const 8) (i32.const 1) (i32.const 0)))))]
      iex> Wasmex.Command.run(wat)
      {:ok, %Wasmex.Command.Result{exit_code: 0, stdout: "hi", stderr: ""}}

  Nothing one run leaves in memory, globals or files of its store is seen by the next: every run
  gets a new store and a new instance. The compiled code is shared: pass a `%Wasmex.Module{}` or
  a `%Wasmex.Components.Component{}` made once with `prepare/2` (the fast path; bytes are
  compiled, or found in the compile cache, on every run). A prepared core module or component
  of the default engine, run without `:fuel` or `:preopen`, runs in a store whose linear memory
  comes from a pool of reused slots (128 core runs and 64 component runs at a time; a component
  gets a slot when its core modules have one memory between them and at most 16 core instances
  and 8 tables, as a `wasm32-wasip2` build has, and its compiled code is at most 1 MiB); runs
  beyond that get a store of their own, so no run ever waits for a slot or fails for want of
  one. The first 2 MiB of such a memory are zeroed when its run ends and stay mapped, so the
  next run's first writes there take no page fault: a Rust command's stack (1 MiB by default,
  at the start of its memory) and its data fit. A command linked with a smaller stack
  (`-C link-arg=-zstack-size=65536`) has a smaller memory to zero and fault in: the JSON command
  of `bench/command.exs` made more than twice as many runs per second with 4 callers that way
  (see BENCHMARKS.md).

  Code of other engines runs in stores of the engine it was prepared for. For per-request runs
  of a component that gets no slot (more memories, or larger code), prepare it on a pooling
  engine that zeroes what its stores used, and pass the same engine to each run:

      {:ok, engine} =
        Wasmex.Engine.new(
          Wasmex.EngineConfig.pooling(%Wasmex.EngineConfig{},
            instances: 1000, core_instances: 8000, keep_resident: 2 * 1024 * 1024)
        )

      {:ok, component} = Wasmex.Command.prepare(File.read!("handler.wasm"), engine: engine)
      {:ok, result} = Wasmex.Command.run(component, stdin: request, engine: engine)

  The component JSON command of `bench/command.exs` took 17.5 µs per run that way, against 32 µs
  with `keep_resident: 0`; prepared on the default engine (in a slot) it takes 20-22 µs, and
  39-45 µs in a store of its own.

  ## Outcomes

  A command that ends, by returning or by calling `exit`, is `{:ok, %Wasmex.Command.Result{}}`
  with its exit code: `exit(3)` in a core module gives `exit_code: 3`. A component's
  `wasi:cli/run` returning `err`, or exiting with a failure, gives `exit_code: 1` (WASI Preview 2
  reports success or failure only). Everything else is an error:

  | error | when |
  |---|---|
  | `:timeout` | the run (instantiation included) took longer than `:timeout`; the guest is stopped |
  | `:fuel_exhausted` | the guest used up the `:fuel` it was given |
  | `{:trap, text}` | the guest trapped (`unreachable`, a Rust panic, out-of-bounds access, ...) |
  | `{:max_output, result}` | stdout or stderr grew past `:max_output`; `result` holds the exit code and each stream cut to `:max_output` bytes |
  | `{:compile, text}` | the bytes are not a valid module or component |
  | `{:instantiate, text}` | the code could not be instantiated (unknown imports, `:store_limits`, a failing start function) |
  | `{:not_a_command, text}` | the module exports no `_start`, or the component no `wasi:cli/run` |
  | `{:setup, text}` | the store or its WASI context could not be made (e.g. a `:preopen` directory that does not exist) |

  Bad options raise `ArgumentError`.

  Output is kept in memory while the guest runs and checked against `:max_output` when it ends, so
  `:timeout` and `:fuel` are what bound a guest that writes without end.

  The run happens in the calling process, which drives the guest: it returns to the scheduler
  every quarter millisecond while the guest runs, so no scheduler is held.
  """

  alias Wasmex.Command.{Core, Options, Result, Stdio}
  alias Wasmex.Components.Component
  alias Wasmex.Module

  @type wasm :: binary() | Module.t() | Component.t()

  @type error ::
          :timeout
          | :fuel_exhausted
          | {:trap, binary()}
          | {:max_output, Result.t()}
          | {:compile, binary()}
          | {:instantiate, binary()}
          | {:not_a_command, binary()}
          | {:setup, binary()}

  @type option ::
          {:stdin, binary()}
          | {:args, [binary()]}
          | {:program, binary()}
          | {:env, %{optional(binary() | atom()) => binary()} | keyword(binary())}
          | {:preopen, [Wasmex.Wasi.PreopenOptions.t() | binary() | {binary(), binary()}]}
          | {:timeout, timeout()}
          | {:fuel, non_neg_integer() | nil}
          | {:store_limits, Wasmex.StoreLimits.t() | nil}
          | {:max_output, non_neg_integer()}
          | {:engine, Wasmex.Engine.t() | nil}

  @doc """
  Runs `wasm` as a command and returns what it wrote and its exit code.

  `wasm` is wasm bytes or WAT text of a core module or a component, a `%Wasmex.Module{}` or a
  `%Wasmex.Components.Component{}` (compiled with the engine these options select, see
  `prepare/2`). Options:

    * `:stdin` - the bytes the guest reads on stdin (default `""`);
    * `:args` - the arguments after the program name (default `[]`);
    * `:program` - the program name, the guest's `argv[0]` (default `"command"`);
    * `:env` - environment variables, a map or keyword list (default none);
    * `:preopen` - directories the guest may use: `%Wasmex.Wasi.PreopenOptions{}`, a host path,
      or `{host_path, guest_path}` (default none);
    * `:timeout` - milliseconds for instantiation and run together, or `:infinity`
      (default `5000`);
    * `:fuel` - the fuel the guest may burn. Without `:engine`, runs with `:fuel` use one
      shared fuel-metered engine; with `:engine`, it must have `consume_fuel: true`;
    * `:store_limits` - a `%Wasmex.StoreLimits{}` for the run's store;
    * `:max_output` - bytes kept per output stream (default 16 MiB);
    * `:engine` - the `%Wasmex.Engine{}` to run on (default: the shared default engine).

  See the module documentation for the errors.

      iex> {:ok, result} = Wasmex.Command.run(File.read!("test/fixtures/json_command.wasm"), stdin: ~s({"n":1}))
      iex> result.stdout
      ~s({"ok":true,"bytes":7,"args":[],"request":{"n":1}})
  """
  @spec run(wasm(), [option()]) :: {:ok, Result.t()} | {:error, error()}
  def run(wasm, opts \\ []) do
    opts = Options.validate!(opts)
    runner = runner(wasm)
    deadline = deadline(opts.timeout)

    with {:ok, io} <- Stdio.open(opts.stdin) do
      case runner.run(wasm, opts, io, deadline) do
        {:exit, code} -> Stdio.result(io, code, opts.max_output)
        {:error, _} = error -> error
      end
    end
  end

  @doc """
  Compiles `wasm` (bytes or WAT text of a core module or a component) once, for many runs: the
  engine is the one `opts` select (`:engine`, or the shared fuel engine when `:fuel` is given),
  so pass the same options to `run/2`. Other options are checked and ignored. A module or
  component given is returned as is.

      iex> {:ok, module} = Wasmex.Command.prepare(~S[(module (memory (export "memory") 1) (func (export "_start")))])
      iex> {:ok, %Wasmex.Command.Result{exit_code: 0}} = Wasmex.Command.run(module)
  """
  @spec prepare(wasm(), [option()]) ::
          {:ok, Module.t() | Component.t()} | {:error, {:compile | :setup, binary()}}
  def prepare(wasm, opts \\ [])
  def prepare(%Module{} = module, _opts), do: {:ok, module}
  def prepare(%Component{} = component, _opts), do: {:ok, component}

  def prepare(bytes, opts) when is_binary(bytes) do
    opts = Options.validate!(opts)
    runner(bytes).prepare(bytes, opts)
  end

  def prepare(other, _opts), do: bad_wasm!(other)

  @doc """
  Whether `wasm` (bytes or WAT text) is a component rather than a core module, judged from the
  binary header or the first WAT form.

      iex> Wasmex.Command.component?("(component)")
      true
      iex> Wasmex.Command.component?(<<0, "asm", 1, 0, 0, 0>>)
      false
  """
  @spec component?(binary()) :: boolean()
  def component?(<<0, "asm", _version::binary-size(2), layer::little-16, _::binary>>),
    do: layer == 1

  def component?(text) when is_binary(text),
    do: Regex.match?(~r/\A(?:\s|;;[^\n]*\n)*\(\s*component\b/, text)

  defp runner(%Module{}), do: Core
  defp runner(%Component{}), do: Wasmex.Command.Component

  defp runner(bytes) when is_binary(bytes),
    do: if(component?(bytes), do: Wasmex.Command.Component, else: Core)

  defp runner(other), do: bad_wasm!(other)

  defp bad_wasm!(other) do
    raise ArgumentError,
          "wasm must be bytes, WAT text, a %Wasmex.Module{} or a %Wasmex.Components.Component{}, got: #{inspect(other)}"
  end

  defp deadline(:infinity), do: nil
  defp deadline(ms), do: System.monotonic_time(:millisecond) + ms

  @doc false
  # The time left before `deadline`, as a timeout for the next step.
  @spec left(integer() | nil) :: timeout()
  def left(nil), do: :infinity
  def left(deadline), do: max(deadline - System.monotonic_time(:millisecond), 0)
end
