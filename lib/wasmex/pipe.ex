defmodule Wasmex.Pipe do
  @moduledoc ~S"""
  An in-memory byte buffer used as WASI stdin, stdout or stderr.

  A pipe has one cursor shared by reads and writes. It is binary-safe: any bytes go in and come
  out unchanged. Handing a pipe to a WASI store shares the buffer, so what the guest writes shows
  up here.

      iex> {:ok, pipe} = Wasmex.Pipe.new()
      iex> {:ok, 5} = Wasmex.Pipe.write(pipe, "hello")
      iex> :ok = Wasmex.Pipe.seek(pipe, 0)
      iex> Wasmex.Pipe.read(pipe)
      "hello"
  """

  use Wasmex.Handle

  @doc """
  Creates an empty pipe.

      iex> {:ok, %Wasmex.Pipe{}} = Wasmex.Pipe.new()
  """
  @spec new() :: {:ok, t()} | {:error, binary()}
  def new do
    with {:ok, resource} <- Wasmex.Native.pipe_new() do
      {:ok, wrap(resource)}
    end
  end

  @doc """
  The number of bytes in the pipe, whatever the cursor position.

      iex> {:ok, pipe} = Wasmex.Pipe.new()
      iex> Wasmex.Pipe.write(pipe, <<0, 255>>)
      iex> Wasmex.Pipe.size(pipe)
      2
  """
  @spec size(t()) :: non_neg_integer()
  def size(%__MODULE__{resource: resource}), do: ok!(Wasmex.Native.pipe_size(resource))

  @doc """
  Moves the cursor to `position` bytes from the start.

      iex> {:ok, pipe} = Wasmex.Pipe.new()
      iex> Wasmex.Pipe.seek(pipe, 0)
      :ok
  """
  @spec seek(t(), non_neg_integer()) :: :ok | {:error, binary()}
  def seek(%__MODULE__{resource: resource}, position)
      when is_integer(position) and position >= 0 do
    case Wasmex.Native.pipe_seek(resource, position) do
      {:ok, _} -> :ok
      other -> other
    end
  end

  @doc """
  Reads everything from the cursor to the end and moves the cursor to the end. Never blocks.

      iex> {:ok, pipe} = Wasmex.Pipe.new()
      iex> Wasmex.Pipe.read(pipe)
      ""
  """
  @spec read(t()) :: binary()
  def read(%__MODULE__{resource: resource}) do
    # More than 64 KiB is copied on a dirty CPU scheduler.
    native = &Wasmex.Native.pipe_read/1
    resource |> Wasmex.Utils.normal_or_dirty(native, &Wasmex.Native.pipe_read_dirty/1) |> ok!()
  end

  @doc """
  Writes `bytes` at the cursor and moves the cursor past them.

      iex> {:ok, pipe} = Wasmex.Pipe.new()
      iex> Wasmex.Pipe.write(pipe, <<1, 2, 3>>)
      {:ok, 3}
  """
  @spec write(t(), binary()) :: {:ok, non_neg_integer()} | :error
  def write(%__MODULE__{resource: resource}, bytes) when is_binary(bytes) do
    write =
      if Wasmex.Utils.dirty_size?(byte_size(bytes)),
        do: &Wasmex.Native.pipe_write_dirty/2,
        else: &Wasmex.Native.pipe_write/2

    case write.(resource, bytes) do
      {:ok, n} -> {:ok, n}
      {:error, _} -> :error
    end
  end

  defp ok!({:ok, value}), do: value
  defp ok!({:error, reason}), do: raise(RuntimeError, "pipe failure: #{reason}")
end
