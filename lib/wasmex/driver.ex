defmodule Wasmex.Driver do
  @moduledoc false
  # Drives an operation that may run wasm to completion, in the calling process.
  #
  # The NIFs answer `{:done, result}`, `:yield` (the guest's time slice is over: poll again) or
  # `{:callback, fun, params, memory, caller}` (the guest called an import written in Elixir: run
  # it here, then hand its value back). Nothing blocks: a short call finishes in the first NIF,
  # a long one returns to the scheduler every time slice, and the deadline is enforced natively.

  require Logger

  alias Wasmex.{Memory, Native, StoreOrCaller}

  @doc false
  @spec run(term(), reference(), term()) :: term()
  def run({:done, result}, _handle, _instance), do: result

  def run(:yield, handle, instance), do: run(Native.exec_continue(handle), handle, instance)

  # The guest waits on I/O: give the scheduler away for a millisecond, then poll again. The
  # call's deadline still applies natively.
  def run(:wait, handle, instance) do
    receive do
    after
      1 -> run(Native.exec_continue(handle), handle, instance)
    end
  end

  def run({:callback, fun, params, memory, caller}, handle, instance) do
    reply = invoke(fun, params, memory, caller, instance)
    run(Native.exec_resume(handle, reply), handle, instance)
  end

  def run({:component_callback, fun, params}, handle, instance) do
    reply = safely(fun, params)
    run(Native.exec_resume(handle, reply), handle, instance)
  end

  defp invoke(fun, params, memory, caller, instance) do
    context = %{
      memory: %Memory{resource: memory, reference: make_ref()},
      caller: %StoreOrCaller{resource: caller, reference: make_ref()},
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

        :error
    end
  end

  @doc false
  @spec native_timeout(timeout() | nil) :: non_neg_integer() | nil
  def native_timeout(:infinity), do: nil
  def native_timeout(nil), do: nil
  def native_timeout(ms) when is_integer(ms) and ms >= 0, do: ms

  def native_timeout(other) do
    raise ArgumentError,
          "timeout must be a non-negative integer or :infinity, got: #{inspect(other)}"
  end
end
