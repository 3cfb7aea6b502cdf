defmodule Wasmex.Driver do
  @moduledoc false
  # Drives an operation that may run wasm to completion, in the calling process.
  #
  # The NIFs answer `{:done, result}`, `:yield` (the guest's time slice is over: poll again),
  # `:wait` (the guest waits on I/O), `:dirty` (a large result is to be encoded: poll on dirty
  # schedulers from now on), `:busy` (another process's call occupies the store, so the
  # operation did not start), `{:unusable, text}` (a trap or a stopped call broke the store's
  # component instances, so the operation did not start) or `{:callback, fun, params, memory, caller}` (the guest called an
  # import written in Elixir: run it here, then hand its value back). Nothing blocks: a short call
  # finishes in the first NIF, a long one returns to the scheduler every time slice, and the
  # deadline is enforced natively.

  require Logger

  alias Wasmex.{Memory, Native, StoreOrCaller}

  @busy "the store is busy with a running call"

  @doc false
  # Starts an operation and runs it like `run/4`. `start` calls the starting NIF with the native
  # timeout that is left. A store runs one call at a time: while another process's call occupies
  # it (`:busy`: nothing started), wait a millisecond and start again, until `timeout` has passed.
  @spec start(
          (non_neg_integer() | nil -> term()),
          timeout() | nil,
          term(),
          term(),
          :normal | :dirty
        ) ::
          term()
  def start(start, timeout, handle, instance, mode \\ :normal) do
    ms = native_timeout(timeout)

    case start.(ms) do
      :busy ->
        retry(start, ms && System.monotonic_time(:millisecond) + ms, handle, instance, mode)

      step ->
        run(step, handle, instance, mode)
    end
  end

  defp retry(start, deadline, handle, instance, mode) do
    if left(deadline) == 0 do
      {:error, @busy}
    else
      Process.sleep(1)

      case start.(left(deadline)) do
        :busy -> retry(start, deadline, handle, instance, mode)
        step -> run(step, handle, instance, mode)
      end
    end
  end

  @doc false
  # The public result of a component operation: a refusal on a broken store is its error.
  @spec settle(term()) :: term()
  def settle({:unusable, error}), do: error
  def settle(result), do: result

  defp left(nil), do: nil
  defp left(deadline), do: max(deadline - System.monotonic_time(:millisecond), 0)

  # `mode` is `:dirty` for calls started on a dirty scheduler (large arguments): they are polled
  # there to the end, since lifting large results also runs in one poll.
  @doc false
  @spec run(term(), reference() | {:store_of, reference()}, term(), :normal | :dirty) :: term()
  def run(step, handle, instance, mode \\ :normal)

  def run({:done, result}, _handle, _instance, _mode), do: result

  def run(:busy, _handle, _instance, _mode), do: {:error, @busy}

  # Component operations only: kept apart from other errors so that a server can replace the
  # instance and call again (the call never entered the guest); `settle/1` makes it the error.
  def run({:unusable, text}, _handle, _instance, _mode), do: {:unusable, {:error, text}}

  def run(:yield, handle, instance, mode) do
    handle = resolve(handle)
    run(continue(handle, mode), handle, instance, mode)
  end

  # A large result is to be encoded: poll (and encode) on a dirty scheduler from now on.
  def run(:dirty, handle, instance, _mode) do
    handle = resolve(handle)
    run(continue(handle, :dirty), handle, instance, :dirty)
  end

  # The guest waits on I/O: give the scheduler away for a millisecond, then poll again. The
  # call's deadline still applies natively.
  def run(:wait, handle, instance, mode) do
    handle = resolve(handle)

    receive do
    after
      1 -> run(continue(handle, mode), handle, instance, mode)
    end
  end

  def run({:callback, fun, params, memory, caller}, handle, instance, mode) do
    reply = invoke(fun, params, memory, caller, instance)
    handle = resolve(handle)
    run(resume(handle, reply, mode), handle, instance, mode)
  end

  def run({:component_callback, fun, params}, handle, instance, mode) do
    reply = safely(fun, params)
    handle = resolve(handle)
    run(resume(handle, reply, mode), handle, instance, mode)
  end

  # A call on a guest resource is driven with the resource's store, looked up only when the call
  # does not finish in its first step (a NIF call saved on the fast path).
  defp resolve({:store_of, resource}), do: Native.guest_resource_store(resource)
  defp resolve(handle), do: handle

  defp continue(handle, :normal), do: Native.exec_continue(handle)
  defp continue(handle, :dirty), do: Native.exec_continue_dirty(handle)

  defp resume(handle, reply, :normal), do: Native.exec_resume(handle, reply)
  defp resume(handle, reply, :dirty), do: Native.exec_resume_dirty(handle, reply)

  defp invoke(fun, params, memory, caller, instance) do
    context = %{
      memory: Memory.wrap(memory),
      caller: StoreOrCaller.wrap(caller),
      pid: self(),
      instance: instance
    }

    safely(fun, [context | params])
  end

  defp safely(fun, args) do
    try do
      {:ok, apply(fun, args)}
    catch
      kind, reason ->
        Logger.warning(
          "Wasmex import callback failed: " <> Exception.format(kind, reason, __STACKTRACE__)
        )

        # The NIF names the import and puts the banner first in the call's error.
        {:error, Exception.format_banner(kind, reason, __STACKTRACE__)}
    end
  end

  @doc false
  # The one check of a timeout a user gave (ms or `:infinity`), for every API that takes one:
  # milliseconds, or `nil` for no deadline.
  @spec timeout!(timeout()) :: non_neg_integer() | nil
  def timeout!(:infinity), do: nil
  def timeout!(ms) when is_integer(ms) and ms >= 0, do: ms

  def timeout!(other) do
    raise ArgumentError,
          "timeout must be a non-negative integer or :infinity, got: #{inspect(other)}"
  end

  @doc false
  # `timeout!/1` for the NIFs, where internal callers may also pass `nil` (no deadline).
  @spec native_timeout(timeout() | nil) :: non_neg_integer() | nil
  def native_timeout(nil), do: nil
  def native_timeout(timeout), do: timeout!(timeout)
end
