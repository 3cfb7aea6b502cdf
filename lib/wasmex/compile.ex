defmodule Wasmex.Compile do
  @moduledoc false
  # Runs a compiling NIF (`module_compile`, `component_new`) with an optional timeout.
  #
  # Large compiles take one of a few permits (one fewer than the cores, see
  # `Wasmex.Module.compile/3`): while every permit is held, the NIF answers `:busy` at once and
  # this module tries again every few milliseconds, so a waiting compile holds no scheduler.
  # With a timeout, the compile runs in a helper process and the caller stops waiting at the
  # deadline (`{:error, :timeout}`); a compile that already runs cannot be interrupted (wasmtime
  # has no way to stop Cranelift), so it finishes on its dirty scheduler and its result is
  # dropped. A helper that still waits for a permit is killed at the deadline. A compile that
  # raises, throws or exits in the helper does so again in the caller, with the same kind and
  # reason, as it would without a timeout.

  @retry_ms 5

  @doc false
  @spec run((() -> term()), timeout()) :: term()
  def run(compile, timeout) do
    case Wasmex.Driver.timeout!(timeout) do
      nil -> until_started(compile)
      ms -> with_deadline(compile, ms)
    end
  end

  defp until_started(compile) do
    case compile.() do
      :busy ->
        Process.sleep(@retry_ms)
        until_started(compile)

      result ->
        result
    end
  end

  # In the helper: the result, or what the compile raised, threw or exited with.
  defp attempt(compile) do
    {:ok, until_started(compile)}
  catch
    kind, reason -> {:raised, kind, reason, __STACKTRACE__}
  end

  defp with_deadline(compile, ms) do
    caller = self()
    tag = make_ref()
    {pid, monitor} = spawn_monitor(fn -> send(caller, {tag, attempt(compile)}) end)

    receive do
      {^tag, {:ok, result}} ->
        Process.demonitor(monitor, [:flush])
        result

      {^tag, {:raised, kind, reason, stacktrace}} ->
        Process.demonitor(monitor, [:flush])
        :erlang.raise(kind, reason, stacktrace)

      {:DOWN, ^monitor, :process, ^pid, reason} ->
        {:error, "the compile failed: #{inspect(reason)}"}
    after
      ms ->
        Process.exit(pid, :kill)
        Process.demonitor(monitor, [:flush])

        receive do
          {^tag, _late} -> :ok
        after
          0 -> :ok
        end

        {:error, :timeout}
    end
  end
end
