defmodule Wasmex.Deadline do
  @moduledoc false
  # Deadlines of server calls (`Wasmex.call_function/4`, `Wasmex.Components.call_function/4`).
  #
  # The caller turns its timeout into an absolute deadline a little before it stops waiting (the
  # guest yields within a fraction of a millisecond of its deadline), so the server's
  # `{:error, :timeout}` arrives in time; if it still does not, the caller answers it itself.

  @doc false
  @spec call(GenServer.server(), (integer() | nil -> term()), timeout()) :: term()
  def call(server, request, timeout) do
    try do
      GenServer.call(server, request.(deadline(timeout)), timeout)
    catch
      :exit, {:timeout, _} -> {:error, :timeout}
    end
  end

  @doc false
  @spec deadline(timeout()) :: integer() | nil
  def deadline(:infinity), do: nil

  def deadline(ms) when is_integer(ms) and ms >= 0,
    do: System.monotonic_time(:millisecond) + ms - margin(ms)

  def deadline(other) do
    raise ArgumentError,
          "timeout must be a non-negative integer or :infinity, got: #{inspect(other)}"
  end

  @doc false
  @spec margin(non_neg_integer()) :: non_neg_integer()
  def margin(ms), do: ms |> div(10) |> max(2) |> min(100) |> min(ms)

  @doc false
  @spec remaining(integer() | nil) :: pos_integer() | nil | :expired
  def remaining(nil), do: nil

  def remaining(deadline) do
    case deadline - System.monotonic_time(:millisecond) do
      ms when ms > 0 -> ms
      _ -> :expired
    end
  end
end
