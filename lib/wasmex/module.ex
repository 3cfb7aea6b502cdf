defmodule Wasmex.Module do
  @moduledoc ~S"""
  A compiled core WebAssembly module: compile once, instantiate many times.

  Modules are immutable and can be shared by any process; they run in stores of the engine that
  compiled them.

      iex> {:ok, store} = Wasmex.Store.new()
      iex> {:ok, module} = Wasmex.Module.compile(store, "(module (func (export \"f\")))")
      iex> Wasmex.Module.exports(module)
      %{"f" => {:fn, [], []}}
  """

  alias Wasmex.StoreOrCaller

  @type value_type :: :i32 | :i64 | :f32 | :f64 | :v128 | {:reference, binary()}
  @type extern_info ::
          {:fn, [value_type()], [value_type()]}
          | {:global, %{mutability: :const | :var, type: value_type()}}
          | {:memory, map()}
          | {:table, map()}
          | {:tag, [value_type()], [value_type()]}

  use Wasmex.Handle

  @doc """
  Compiles wasm bytes or WAT text with the engine of `store_or_caller` (inside an import, pass the
  caller). Runs on a dirty scheduler.

  Options:

    * `:timeout` - milliseconds (or `:infinity`, the default) to wait for the compile. Past it,
      the answer is `{:error, :timeout}`. A compile cannot be interrupted once it runs: it
      finishes on its dirty scheduler and its result is dropped.

  Inputs larger than 64 KiB compile at most N-1 at a time, where N is the number of cores
  (the BEAM's default dirty CPU scheduler count; at least one), so large compiles never occupy
  every dirty CPU scheduler. A large compile waits (without holding a scheduler) while others
  run; smaller inputs never wait.

      iex> {:ok, store} = Wasmex.Store.new()
      iex> {:error, "Error while parsing bytes: " <> _} = Wasmex.Module.compile(store, "(module")
      iex> {:ok, %Wasmex.Module{}} = Wasmex.Module.compile(store, "(module)", timeout: 5_000)
  """
  @spec compile(StoreOrCaller.t(), binary(), keyword()) ::
          {:ok, t()} | {:error, binary() | :timeout}
  def compile(%StoreOrCaller{resource: resource}, bytes, opts \\ []) when is_binary(bytes) do
    opts = Keyword.validate!(opts, timeout: :infinity)
    dir = Wasmex.Cache.dir()
    metadata = %{kind: :module, bytes: byte_size(bytes), cache_dir: dir}
    compile = fn -> Wasmex.Native.module_compile(resource, bytes, dir) end

    Wasmex.Telemetry.span(:compile, metadata, fn ->
      with {:ok, module} <- Wasmex.Compile.run(compile, opts[:timeout]) do
        {:ok, wrap(module)}
      end
    end)
  end

  @doc """
  The module's name from its name section, or `nil`.

      iex> {:ok, store} = Wasmex.Store.new()
      iex> {:ok, module} = Wasmex.Module.compile(store, "(module $hello)")
      iex> Wasmex.Module.name(module)
      "hello"
  """
  @spec name(t()) :: binary() | nil
  def name(%__MODULE__{resource: resource}), do: Wasmex.Native.module_name(resource)

  @doc """
  The module's exports: `%{name => info}`.

      iex> {:ok, store} = Wasmex.Store.new()
      iex> {:ok, module} = Wasmex.Module.compile(store, "(module (memory (export \\"mem\\") 1))")
      iex> Wasmex.Module.exports(module)
      %{"mem" => {:memory, %{minimum: 1, shared: false, memory64: false}}}
  """
  @spec exports(t()) :: %{binary() => extern_info()}
  def exports(%__MODULE__{resource: resource}) do
    listed(resource, &Wasmex.Native.module_exports/1, &Wasmex.Native.module_exports_dirty/1)
  end

  @doc """
  The module's imports: `%{namespace => %{name => info}}`.

      iex> {:ok, store} = Wasmex.Store.new()
      iex> {:ok, module} = Wasmex.Module.compile(store, "(module (import \\"env\\" \\"f\\" (func (param i32))))")
      iex> Wasmex.Module.imports(module)
      %{"env" => %{"f" => {:fn, [:i32], []}}}
  """
  @spec imports(t()) :: %{binary() => %{binary() => extern_info()}}
  def imports(%__MODULE__{resource: resource}) do
    listed(resource, &Wasmex.Native.module_imports/1, &Wasmex.Native.module_imports_dirty/1)
  end

  # Long lists are built on a dirty CPU scheduler.
  defp listed(resource, normal, dirty),
    do: resource |> Wasmex.Utils.normal_or_dirty(normal, dirty) |> ok!()

  @doc """
  Serializes the compiled module, to be loaded later with `unsafe_deserialize/2`.

      iex> {:ok, store} = Wasmex.Store.new()
      iex> {:ok, module} = Wasmex.Module.compile(store, "(module)")
      iex> {:ok, bin} = Wasmex.Module.serialize(module)
      iex> is_binary(bin)
      true
  """
  @spec serialize(t()) :: {:ok, binary()} | {:error, binary()}
  def serialize(%__MODULE__{resource: resource}), do: Wasmex.Native.module_serialize(resource)

  @doc """
  Loads a module produced by `serialize/1` or `Wasmex.Engine.precompile_module/2`.

  Unsafe with untrusted input: only pass bytes produced by this version of Wasmex with an engine
  configured like `engine` (`nil` means the default engine).

      iex> {:ok, store} = Wasmex.Store.new()
      iex> {:ok, module} = Wasmex.Module.compile(store, "(module)")
      iex> {:ok, bin} = Wasmex.Module.serialize(module)
      iex> {:ok, %Wasmex.Module{}} = Wasmex.Module.unsafe_deserialize(bin)
  """
  @spec unsafe_deserialize(binary(), Wasmex.Engine.t() | nil) :: {:ok, t()} | {:error, binary()}
  def unsafe_deserialize(bytes, engine \\ nil) when is_binary(bytes) do
    engine = if engine, do: engine.resource

    with {:ok, module} <- Wasmex.Native.module_unsafe_deserialize(bytes, engine) do
      {:ok, wrap(module)}
    end
  end

  defp ok!({:ok, value}), do: value
  defp ok!({:error, reason}), do: raise(RuntimeError, "could not describe the module: #{reason}")
end
