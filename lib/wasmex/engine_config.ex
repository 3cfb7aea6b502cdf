defmodule Wasmex.EngineConfig do
  @moduledoc ~S"""
  Settings for a `Wasmex.Engine`: how modules are compiled and what they may use.

  Epoch interruption is always on: it is how Wasmex bounds each time slice and stops guests at
  their deadline.

      iex> config = %Wasmex.EngineConfig{} |> Wasmex.EngineConfig.consume_fuel(true)
      iex> config.consume_fuel
      true
  """

  @type opt_level :: :none | :speed | :speed_and_size

  @typedoc "The compiler of an engine's modules and components (see `compiler/2`)."
  @type compiler :: :cranelift | :winch

  @typedoc "The pooling allocator's sizes (see `pooling/2`); `nil` allocates on demand."
  @type pooling :: %{
          instances: pos_integer(),
          core_instances: pos_integer(),
          memories: pos_integer(),
          tables: pos_integer(),
          max_memory_size: pos_integer() | nil,
          keep_resident: non_neg_integer()
        }

  @typedoc "Each linear memory's address space, in bytes (see `memory/2`); `nil` keeps wasmtime's."
  @type memory :: %{
          reservation: non_neg_integer() | nil,
          guard_size: non_neg_integer() | nil,
          reservation_for_growth: non_neg_integer() | nil
        }

  @type t :: %__MODULE__{
          consume_fuel: boolean(),
          compiler: compiler(),
          cranelift_opt_level: opt_level(),
          wasm_backtrace_details: boolean(),
          memory64: boolean(),
          wasm_component_model: boolean(),
          debug_info: boolean(),
          cache_dir: Path.t() | nil,
          pooling: pooling() | nil,
          memory: memory() | nil
        }

  defstruct consume_fuel: false,
            compiler: :cranelift,
            cranelift_opt_level: :none,
            wasm_backtrace_details: false,
            memory64: false,
            wasm_component_model: true,
            debug_info: false,
            cache_dir: nil,
            pooling: nil,
            memory: nil

  @doc """
  Makes the engine count fuel: stores then start with 0 fuel and a guest that runs out traps.

      iex> Wasmex.EngineConfig.consume_fuel(%Wasmex.EngineConfig{}, true).consume_fuel
      true
  """
  @spec consume_fuel(t(), boolean()) :: t()
  def consume_fuel(%__MODULE__{} = config, enabled) when is_boolean(enabled),
    do: %{config | consume_fuel: enabled}

  @compilers [:cranelift, :winch]

  @doc """
  Chooses the compiler of the engine's modules and components: `:cranelift` (the default) or
  `:winch`.

  Cranelift is wasmtime's optimizing compiler. Winch is its baseline compiler: it translates each
  function in one pass, without optimizing, so compiles are several times faster and the code it
  makes runs slower (see BENCHMARKS.md, "Compile time"). Use it where compile time dominates:
  development, tests, short-lived guests compiled once per run. Both compile the functions of a
  module on every core.

  With Winch (wasmtime 48 on x86_64, where these were checked; Winch's support of other
  architectures is partial, aarch64 has no threads proposal):

    * deadlines (`:timeout`, epoch interruption) and fuel work as with Cranelift;
    * `cranelift_opt_level/2` has no effect;
    * `debug_info: true` is refused: `Wasmex.Engine.new/1` returns `{:error, "compiler :winch
      does not support debug_info: true ..."}`;
    * the GC, function references, tail call, exception handling and relaxed SIMD proposals are
      off: a module that uses them fails to compile (`{:error, "... tail calls support is not
      enabled ..."}`);
    * SIMD is partly implemented and needs AVX (some instructions AVX2 or AVX-512) on the host:
      a module using an instruction Winch lacks, or cannot emit on this CPU, fails to compile
      with an error;
    * compiled code is cached apart from Cranelift's (`Wasmex.Cache`): the same bytes compile once
      per compiler.

  Any other value raises `ArgumentError`.

      iex> config = Wasmex.EngineConfig.compiler(%Wasmex.EngineConfig{}, :winch)
      iex> config.compiler
      :winch
      iex> {:ok, engine} = Wasmex.Engine.new(config)
      iex> {:ok, store} = Wasmex.Store.new(nil, engine)
      iex> wat = ~s[(module (func (export "two") (result i32) i32.const 2))]
      iex> {:ok, pid} = Wasmex.start_link(%{bytes: wat, store: store})
      iex> Wasmex.call_function(pid, "two", [])
      {:ok, [2]}
  """
  @spec compiler(t(), compiler()) :: t()
  def compiler(%__MODULE__{} = config, compiler) when compiler in @compilers,
    do: %{config | compiler: compiler}

  def compiler(%__MODULE__{}, other) do
    raise ArgumentError,
          "compiler must be one of #{inspect(@compilers)}, got: #{inspect(other)}"
  end

  @doc """
  Sets Cranelift's optimization level: `:none`, `:speed` or `:speed_and_size`.

      iex> Wasmex.EngineConfig.cranelift_opt_level(%Wasmex.EngineConfig{}, :speed).cranelift_opt_level
      :speed
  """
  @spec cranelift_opt_level(t(), opt_level()) :: t()
  def cranelift_opt_level(%__MODULE__{} = config, level)
      when level in [:none, :speed, :speed_and_size],
      do: %{config | cranelift_opt_level: level}

  @doc """
  Adds source file and line (from DWARF in the module) to trap messages.

      iex> Wasmex.EngineConfig.wasm_backtrace_details(%Wasmex.EngineConfig{}, true).wasm_backtrace_details
      true
  """
  @spec wasm_backtrace_details(t(), boolean()) :: t()
  def wasm_backtrace_details(%__MODULE__{} = config, enabled) when is_boolean(enabled),
    do: %{config | wasm_backtrace_details: enabled}

  @doc """
  Enables the memory64 proposal (64-bit linear memories).

      iex> Wasmex.EngineConfig.memory64(%Wasmex.EngineConfig{}, true).memory64
      true
  """
  @spec memory64(t(), boolean()) :: t()
  def memory64(%__MODULE__{} = config, enabled) when is_boolean(enabled),
    do: %{config | memory64: enabled}

  @doc """
  Caches this engine's compiled modules and components in the directory `dir` (see
  `Wasmex.Cache`); `nil` (the default) uses the application's `config :wasmex, cache_dir: ...`.

      iex> Wasmex.EngineConfig.cache_dir(%Wasmex.EngineConfig{}, "/tmp/wasmex-cache").cache_dir
      "/tmp/wasmex-cache"
  """
  @spec cache_dir(t(), Path.t() | nil) :: t()
  def cache_dir(%__MODULE__{} = config, dir) when is_binary(dir) or is_nil(dir),
    do: %{config | cache_dir: dir}

  @pooling_defaults [
    instances: 1000,
    core_instances: nil,
    memories: nil,
    tables: nil,
    max_memory_size: nil,
    keep_resident: 0
  ]

  @doc """
  Makes the engine allocate instances from wasmtime's pooling allocator instead of on demand
  (the default): slots for instances, linear memories, tables and call stacks are reserved once,
  when the engine is made, and reused, and memories are set up from copy-on-write images. This
  makes instantiating in a fresh store cheaper, at the price of a fixed capacity: with every
  slot in use, an instantiation returns `{:error, "maximum concurrent limit of N for ... reached:
  the engine's pooling allocator is full (raise ...)"}` naming the option to raise. The on-demand
  allocator has no such limit, which is why it stays the default.

  A slot is free again when its store is freed, and a store is freed (a moment) after its last
  reference is garbage collected: when the owning process exits or its heap is collected. A process that
  makes many short-lived stores holds their slots until its next garbage collection, so size the
  pool for those too (or give each instance its own process, as `Wasmex.Pool` members do).

  Options (positive integers; `pooling(config, nil)` goes back to on-demand allocation):

    * `:instances` - component instances live at once, and call stacks (default 1000);
    * `:core_instances` - core module instances live at once (default `:instances`; a component
      instance uses one per core module inside it);
    * `:memories`, `:tables` - linear memories and tables live at once (default
      `:core_instances`);
    * `:max_memory_size` - bytes one linear memory may grow to (default wasmtime's, 4 GiB);
      each memory slot reserves (does not commit) this much address space;
    * `:keep_resident` - bytes at the start of each linear memory and table that are zeroed
      with `memset` when their store is freed, instead of handed back to the OS (default 0,
      wasmtime's; `nil` is 0). The next store's first writes there then take no page fault; on a machine
      whose cores are all busy each such fault is a cross-core TLB flush. `Wasmex.Command`'s
      own pooled engine uses 2 MiB (a Rust command's stack and data): there it made a run of a
      small JSON command 13 µs instead of 22 µs and 4 callers 35-39k runs/s instead of
      28-30k on 2 cores. The price is a `memset` of up to this many bytes per freed memory,
      whatever the guest touched.

      iex> config = Wasmex.EngineConfig.pooling(%Wasmex.EngineConfig{}, instances: 10)
      iex> config.pooling.memories
      10
      iex> {:ok, %Wasmex.Engine{}} = Wasmex.Engine.new(config)
  """
  @spec pooling(t(), keyword() | nil) :: t()
  def pooling(%__MODULE__{} = config, nil), do: %{config | pooling: nil}

  def pooling(%__MODULE__{} = config, opts) when is_list(opts) do
    opts = Keyword.validate!(opts, @pooling_defaults)
    instances = count!(opts, :instances, 1000)
    core = count!(opts, :core_instances, instances)

    pooling = %{
      instances: instances,
      core_instances: core,
      memories: count!(opts, :memories, core),
      tables: count!(opts, :tables, core),
      max_memory_size: opts[:max_memory_size] && count!(opts, :max_memory_size, nil),
      keep_resident: bytes!(:keep_resident, opts[:keep_resident]) || 0
    }

    %{config | pooling: pooling}
  end

  @memory_defaults [reservation: nil, guard_size: nil, reservation_for_growth: nil]

  @doc """
  Sets how much address space each linear memory takes, in bytes; `memory(config, nil)` (the
  default) keeps wasmtime's. These are wasmtime's `Config::memory_reservation`,
  `memory_guard_size` and `memory_reservation_for_growth`:

    * `:reservation` - address space reserved for a memory when it is made (wasmtime's default
      on 64-bit hosts: 4 GiB). With 4 GiB plus the guard, compiled code needs no bounds checks,
      but a VM has room (47 bits) for only about 31,000 such memories. A smaller reservation
      makes the code check bounds, and a memory that outgrows it is moved (copied) when it grows;
    * `:guard_size` - unmapped bytes after each memory that catch stray accesses (default 32 MiB);
    * `:reservation_for_growth` - room reserved past a memory's size when it is made beyond
      `:reservation` or moved (default 2 GiB).

  `0` is allowed for each. For very many small instances (see
  [Many live instances](many_live_instances.md)),
  `memory(config, reservation: 0, guard_size: 0, reservation_for_growth: 0)` makes each memory
  one mapping of exactly its size; every `memory.grow` then moves the memory.

      iex> config = Wasmex.EngineConfig.memory(%Wasmex.EngineConfig{}, reservation: 0, guard_size: 0)
      iex> config.memory
      %{reservation: 0, guard_size: 0, reservation_for_growth: nil}
      iex> {:ok, %Wasmex.Engine{}} = Wasmex.Engine.new(config)
  """
  @spec memory(t(), keyword() | nil) :: t()
  def memory(%__MODULE__{} = config, nil), do: %{config | memory: nil}

  def memory(%__MODULE__{} = config, opts) when is_list(opts) do
    opts = Keyword.validate!(opts, @memory_defaults)
    %{config | memory: Map.new(opts, fn {key, value} -> {key, bytes!(key, value)} end)}
  end

  defp bytes!(_key, nil), do: nil
  defp bytes!(_key, n) when is_integer(n) and n >= 0 and n < 18_446_744_073_709_551_616, do: n

  defp bytes!(key, other) do
    raise ArgumentError,
          "option #{inspect(key)} must be a non-negative integer or nil, got: #{inspect(other)}"
  end

  defp count!(opts, key, default) do
    case Keyword.fetch!(opts, key) do
      nil when default != nil ->
        default

      n when is_integer(n) and n > 0 and (key == :max_memory_size or n < 4_294_967_296) ->
        n

      other ->
        raise ArgumentError,
              "option #{inspect(key)} must be a positive integer, got: #{inspect(other)}"
    end
  end
end
