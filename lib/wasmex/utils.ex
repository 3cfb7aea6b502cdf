defmodule Wasmex.Utils do
  @moduledoc ~S"""
  Helpers shared by the Wasmex modules.

      iex> Wasmex.Utils.stringify_keys(%{env: %{sum: 1}})
      %{"env" => %{"sum" => 1}}
  """

  @doc """
  Turns atom keys into strings, recursively through maps and lists; structs are left alone.

      iex> Wasmex.Utils.stringify_keys([%{a: 1}])
      [%{"a" => 1}]
  """
  @spec stringify_keys(term()) :: term()
  def stringify_keys(%_{} = struct), do: struct

  def stringify_keys(map) when is_map(map),
    do: Map.new(map, fn {k, v} -> {stringify(k), stringify_keys(v)} end)

  def stringify_keys(list) when is_list(list), do: Enum.map(list, &stringify_keys/1)
  def stringify_keys(other), do: other

  @doc """
  An atom or binary as a binary.

      iex> Wasmex.Utils.stringify(:sum)
      "sum"
  """
  @spec stringify(atom() | binary()) :: binary()
  def stringify(value) when is_binary(value), do: value
  def stringify(value) when is_atom(value), do: Atom.to_string(value)
  def stringify(value), do: value

  @doc false
  # An export name given as an atom, a binary or a charlist, as a binary; anything else raises
  # ArgumentError naming `what` (in the caller, before any server sees it).
  @spec name!(term(), String.t()) :: binary()
  def name!(name, _what) when is_binary(name), do: name
  def name!(name, _what) when is_atom(name), do: Atom.to_string(name)

  def name!(name, what) do
    List.to_string(name)
  rescue
    _ -> reraise ArgumentError, "#{what} must be an atom or a string, got: #{inspect(name)}", []
  end

  @doc false
  @spec native_timeout(timeout()) :: non_neg_integer() | nil
  def native_timeout(timeout), do: Wasmex.Driver.native_timeout(timeout)

  @doc """
  Whether host-side work on `bytes` bytes is large enough to run on a dirty CPU scheduler: a
  copy of more than 64 KiB could hold a normal scheduler for a noticeable part of a millisecond.

      iex> Wasmex.Utils.dirty_size?(1024)
      false
  """
  @spec dirty_size?(non_neg_integer()) :: boolean()
  def dirty_size?(bytes), do: bytes > 65_536

  @doc """
  A NIF's answer, or, when it answered `{:ok, :dirty}` (the work is too large for a normal
  scheduler), the answer of `dirty`, its variant on a dirty CPU scheduler.

      iex> Wasmex.Utils.or_dirty({:ok, :dirty}, fn -> {:ok, "big"} end)
      {:ok, "big"}
  """
  @spec or_dirty(term(), (() -> term())) :: term()
  def or_dirty({:ok, :dirty}, dirty), do: dirty.()
  def or_dirty(answer, _dirty), do: answer

  @doc false
  # Calls the NIF `normal` on `arg`, and its dirty variant `dirty` when it answers `{:ok, :dirty}`.
  @spec normal_or_dirty(term(), (term() -> term()), (term() -> term())) :: term()
  def normal_or_dirty(arg, normal, dirty), do: arg |> normal.() |> or_dirty(fn -> dirty.(arg) end)

  @doc false
  # Makes a WASI store resource with `normal` (on this scheduler) or, when the options preopen
  # directories (file system I/O), with `io` (a NIF on a dirty I/O scheduler).
  @spec wasi_store(map(), term(), term(), function(), function()) ::
          {:ok, term()} | {:error, term()}
  def wasi_store(options, limits, engine, normal, io) do
    new = if options.preopen in [nil, []], do: normal, else: io
    new.(options, limits, Wasmex.Engine.resource!(engine))
  end
end
