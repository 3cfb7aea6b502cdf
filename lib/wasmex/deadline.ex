defmodule Wasmex.Deadline do
  @moduledoc false
  # Deadlines of server calls (`Wasmex.call_function/4`, `Wasmex.Components.call_function/4`).
  #
  # The caller turns its timeout into an absolute deadline a little before it stops waiting (the
  # guest yields within a fraction of a millisecond of its deadline), so the server's
  # `{:error, :timeout}` arrives in time; if it still does not, the caller answers it itself.
  #
  # A server that is not running, or that dies before it answers, is an error too, not an exit
  # of the caller: `{:error, :noproc}` or `{:error, {:exit, reason}}`. The reason never holds the
  # request (its arguments may be large or private): GenServer's `{GenServer, :call, args}` part
  # is dropped, and so are the arguments in a crash's stacktrace.

  @doc false
  @spec call(GenServer.server(), (integer() | nil -> term()), timeout()) :: term()
  def call(server, request, timeout) do
    GenServer.call(server, request.(deadline(timeout)), timeout)
  catch
    :exit, reason -> exited(reason)
  end

  @doc false
  # Runs `fun`, which calls a server: a call that timed out, or whose server is gone, answers
  # `{:error, :timeout}`, `{:error, :noproc}` or `{:error, {:exit, reason}}` instead of exiting.
  @spec guarded((() -> result)) :: result | {:error, :timeout | :noproc | {:exit, term()}}
        when result: term()
  def guarded(fun) do
    fun.()
  catch
    :exit, reason -> exited(reason)
  end

  # A server call's exit as its error; any other exit goes on.
  defp exited({:timeout, {GenServer, :call, _}}), do: {:error, :timeout}
  defp exited({reason, {GenServer, :call, _}}), do: {:error, exit_reason(reason)}
  defp exited(reason), do: exit(reason)

  @doc false
  # The error a call gets when its server is gone; see `call/3`.
  @spec exit_reason(term()) :: :noproc | {:exit, term()}
  def exit_reason(:noproc), do: :noproc
  def exit_reason(reason), do: {:exit, without_arguments(reason)}

  @doc false
  # An exit reason without the arguments of a crash's stacktrace (they become arities), for
  # every error that carries a process's exit reason (also a pool's `{:member_down, reason}`).
  @spec without_arguments(term()) :: term()
  def without_arguments({exception, stacktrace}) when is_list(stacktrace),
    do: {exception, Enum.map(stacktrace, &entry_without_arguments/1)}

  def without_arguments(reason), do: reason

  defp entry_without_arguments({module, fun, args, location})
       when is_atom(module) and is_atom(fun) and is_list(args) and is_list(location),
       do: {module, fun, length(args), location}

  defp entry_without_arguments(entry), do: entry

  @doc false
  @spec deadline(timeout()) :: integer() | nil
  def deadline(timeout) do
    case Wasmex.Driver.timeout!(timeout) do
      nil -> nil
      ms -> System.monotonic_time(:millisecond) + ms - margin(ms)
    end
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
