defmodule Wasmex.Memory do
  @moduledoc ~S"""
  A linear memory of an instance. Every function takes the store (or, inside an import, the
  caller) that the memory lives in. Offsets and lengths are bounds-checked. Reads and writes of
  more than 64 KiB run on a dirty CPU scheduler, so that a large copy never holds a normal one.

      iex> {:ok, store} = Wasmex.Store.new()
      iex> {:ok, module} = Wasmex.Module.compile(store, ~S[(module (memory (export "memory") 1))])
      iex> {:ok, instance} = Wasmex.Instance.new(store, module, %{})
      iex> {:ok, memory} = Wasmex.Memory.from_instance(store, instance)
      iex> :ok = Wasmex.Memory.write_binary(store, memory, 0, "hi")
      iex> Wasmex.Memory.read_binary(store, memory, 0, 2)
      "hi"
  """

  alias Wasmex.{Instance, Native, StoreOrCaller}

  use Wasmex.Handle, nullable: true

  @doc """
  The instance's first exported memory.

      iex> {:ok, store} = Wasmex.Store.new()
      iex> {:ok, module} = Wasmex.Module.compile(store, ~S[(module (memory (export "mem") 1))])
      iex> {:ok, instance} = Wasmex.Instance.new(store, module, %{})
      iex> {:ok, %Wasmex.Memory{}} = Wasmex.Memory.from_instance(store, instance)
  """
  @spec from_instance(StoreOrCaller.t(), Instance.t()) :: {:ok, t()} | {:error, binary()}
  def from_instance(%StoreOrCaller{resource: store}, %Instance{resource: instance}) do
    with {:ok, resource} <- Native.memory_from_instance(store, instance) do
      {:ok, wrap(resource)}
    end
  end

  @doc """
  The size of the memory in bytes (a multiple of 65,536).

      iex> {:ok, store} = Wasmex.Store.new()
      iex> {:ok, module} = Wasmex.Module.compile(store, ~S[(module (memory (export "memory") 1))])
      iex> {:ok, instance} = Wasmex.Instance.new(store, module, %{})
      iex> {:ok, memory} = Wasmex.Memory.from_instance(store, instance)
      iex> Wasmex.Memory.size(store, memory)
      65536
  """
  @spec size(StoreOrCaller.t(), t()) :: non_neg_integer() | {:error, binary()}
  def size(store_or_caller, memory),
    do: unwrap(call(store_or_caller, memory, &Native.memory_size/2, []))

  @doc """
  Grows the memory by `pages` (64 KiB each) and returns the size in pages before growing.
  Not available through a caller inside an import.

      iex> {:ok, store} = Wasmex.Store.new()
      iex> {:ok, module} = Wasmex.Module.compile(store, ~S[(module (memory (export "memory") 1))])
      iex> {:ok, instance} = Wasmex.Instance.new(store, module, %{})
      iex> {:ok, memory} = Wasmex.Memory.from_instance(store, instance)
      iex> Wasmex.Memory.grow(store, memory, 2)
      1
  """
  @spec grow(StoreOrCaller.t(), t(), non_neg_integer()) :: non_neg_integer() | {:error, binary()}
  def grow(store_or_caller, memory, pages) when is_integer(pages) and pages >= 0,
    do: unwrap(call(store_or_caller, memory, &Native.memory_grow/3, [pages]))

  @doc """
  Reads the byte at `index` (0..255).

      iex> {:ok, store} = Wasmex.Store.new()
      iex> {:ok, module} = Wasmex.Module.compile(store, ~S[(module (memory (export "memory") 1))])
      iex> {:ok, instance} = Wasmex.Instance.new(store, module, %{})
      iex> {:ok, memory} = Wasmex.Memory.from_instance(store, instance)
      iex> Wasmex.Memory.get_byte(store, memory, 70_000)
      {:error, "out of bounds memory access"}
  """
  @spec get_byte(StoreOrCaller.t(), t(), non_neg_integer()) :: byte() | {:error, binary()}
  def get_byte(store_or_caller, memory, index) do
    case read_binary(store_or_caller, memory, index, 1) do
      <<byte>> -> byte
      {:error, _} = error -> error
    end
  end

  @doc """
  Writes one byte at `index`. A value outside 0..255 is an error, never wrapped.

      iex> {:ok, store} = Wasmex.Store.new()
      iex> {:ok, module} = Wasmex.Module.compile(store, ~S[(module (memory (export "memory") 1))])
      iex> {:ok, instance} = Wasmex.Instance.new(store, module, %{})
      iex> {:ok, memory} = Wasmex.Memory.from_instance(store, instance)
      iex> Wasmex.Memory.set_byte(store, memory, 0, 300)
      {:error, "byte value 300 is out of range 0..255"}
  """
  @spec set_byte(StoreOrCaller.t(), t(), non_neg_integer(), byte()) :: :ok | {:error, binary()}
  def set_byte(store_or_caller, memory, index, value) when value in 0..255,
    do: write_binary(store_or_caller, memory, index, <<value>>)

  def set_byte(_store_or_caller, _memory, _index, value) when is_integer(value),
    do: {:error, "byte value #{value} is out of range 0..255"}

  @doc """
  Reads `length` bytes starting at `index`.

      iex> {:ok, store} = Wasmex.Store.new()
      iex> {:ok, module} = Wasmex.Module.compile(store, ~S[(module (memory (export "memory") 1) (data (i32.const 0) "abc"))])
      iex> {:ok, instance} = Wasmex.Instance.new(store, module, %{})
      iex> {:ok, memory} = Wasmex.Memory.from_instance(store, instance)
      iex> Wasmex.Memory.read_binary(store, memory, 0, 3)
      "abc"
  """
  @spec read_binary(StoreOrCaller.t(), t(), non_neg_integer(), non_neg_integer()) ::
          binary() | {:error, binary()}
  def read_binary(store_or_caller, memory, index, length) do
    read =
      if dirty_size?(length),
        do: &Native.memory_read_binary_dirty/4,
        else: &Native.memory_read_binary/4

    unwrap(call(store_or_caller, memory, read, [index, length]))
  end

  @doc """
  Reads `length` bytes starting at `index` as a string (the bytes are returned as they are).

      iex> {:ok, store} = Wasmex.Store.new()
      iex> {:ok, module} = Wasmex.Module.compile(store, ~S[(module (memory (export "memory") 1) (data (i32.const 0) "abc"))])
      iex> {:ok, instance} = Wasmex.Instance.new(store, module, %{})
      iex> {:ok, memory} = Wasmex.Memory.from_instance(store, instance)
      iex> Wasmex.Memory.read_string(store, memory, 1, 2)
      "bc"
  """
  @spec read_string(StoreOrCaller.t(), t(), non_neg_integer(), non_neg_integer()) ::
          binary() | {:error, binary()}
  def read_string(store_or_caller, memory, index, length),
    do: read_binary(store_or_caller, memory, index, length)

  @doc """
  Writes `bytes` starting at `index`.

      iex> {:ok, store} = Wasmex.Store.new()
      iex> {:ok, module} = Wasmex.Module.compile(store, ~S[(module (memory (export "memory") 1))])
      iex> {:ok, instance} = Wasmex.Instance.new(store, module, %{})
      iex> {:ok, memory} = Wasmex.Memory.from_instance(store, instance)
      iex> Wasmex.Memory.write_binary(store, memory, 65_535, "too long")
      {:error, "out of bounds memory access"}
  """
  @spec write_binary(StoreOrCaller.t(), t(), non_neg_integer(), binary()) ::
          :ok | {:error, binary()}
  def write_binary(store_or_caller, memory, index, bytes) when is_binary(bytes) do
    write =
      if dirty_size?(byte_size(bytes)),
        do: &Native.memory_write_binary_dirty/4,
        else: &Native.memory_write_binary/4

    case call(store_or_caller, memory, write, [index, bytes]) do
      {:ok, _} -> :ok
      {:error, _} = error -> error
    end
  end

  defp call(%StoreOrCaller{}, %__MODULE__{resource: nil}, _fun, _args) do
    {:error, "The WebAssembly module has no exported memory."}
  end

  defp call(%StoreOrCaller{resource: store}, %__MODULE__{resource: memory}, fun, args) do
    Enum.each(args, &check_index/1)
    apply(fun, [store, memory | args])
  end

  defp check_index(n) when is_integer(n) and n < 0,
    do: raise(ArgumentError, "memory offsets and lengths must be non-negative, got: #{n}")

  defp check_index(_), do: :ok

  # Large copies run on a dirty CPU scheduler, so that no normal scheduler is held for long.
  defp dirty_size?(length) when is_integer(length), do: Wasmex.Utils.dirty_size?(length)
  defp dirty_size?(_), do: false

  defp unwrap({:ok, value}), do: value
  defp unwrap({:error, _} = error), do: error
end
