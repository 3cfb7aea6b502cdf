defmodule Wasmex.TestHelpers do
  @moduledoc false
  # Shared helpers for the low-level API tests (Store, Module, Instance, Memory, ...).

  import ExUnit.Assertions

  alias Wasmex.{Engine, EngineConfig, Instance, Memory, Module, Store}

  @doc """
  Removes the application's `:cache_dir` for the test and puts the previous value back when it
  ends (for tests that are not async: the environment is global).
  """
  def isolate_cache_dir! do
    previous = Application.fetch_env(:wasmex, :cache_dir)
    Application.delete_env(:wasmex, :cache_dir)

    ExUnit.Callbacks.on_exit(fn ->
      case previous do
        {:ok, value} -> Application.put_env(:wasmex, :cache_dir, value)
        :error -> Application.delete_env(:wasmex, :cache_dir)
      end
    end)
  end

  @doc "A new store (default engine unless one is given)."
  def store!(limits \\ nil, engine \\ nil) do
    assert {:ok, store} = Store.new(limits, engine)
    store
  end

  @doc "A store whose engine consumes fuel."
  def fuel_store!(limits \\ nil) do
    assert {:ok, engine} = Engine.new(%EngineConfig{consume_fuel: true})
    store!(limits, engine)
  end

  @doc "Asserts that `handle` is a handle struct: its `resource` and `reference` are references."
  def assert_handle(%{resource: resource, reference: reference} = handle) do
    assert is_reference(resource)
    assert is_reference(reference)
    handle
  end

  @doc "Compiles WAT text or wasm bytes."
  def compile!(store, source), do: ok!(Module.compile(store, source), Module)

  @doc "Compiles and instantiates in one go; returns `{store, module, instance}`."
  def instantiate!(source, imports \\ %{}, opts \\ []) do
    store = Keyword.get_lazy(opts, :store, fn -> store!() end)
    module = compile!(store, source)

    assert {:ok, %Instance{} = instance} =
             Instance.new(store, module, imports, opts[:links] || [])

    {store, module, instance}
  end

  @doc "Compiles `source` in a new store and returns the error text `Instance.new/3` answers."
  def instantiate_error!(source, imports \\ %{}) do
    store = store!()
    module = compile!(store, source)
    assert {:error, reason} = Instance.new(store, module, imports)
    reason
  end

  @doc "The instance's exported memory."
  def memory!(store, instance), do: ok!(Memory.from_instance(store, instance), Memory)

  # The value of an `{:ok, %struct{}}` result; fails the test on anything else.
  defp ok!(result, struct) do
    assert {:ok, %^struct{} = value} = result
    value
  end

  @doc """
  Calls an exported function through the 0.15.1 API (`call_exported_function/6` replying to a
  `{pid, ref}` from) and returns the reply, failing the test if none arrives in time.
  """
  def call(store_or_caller, instance, name, params, timeout \\ nil, wait \\ 10_000) do
    ref = make_ref()

    assert :ok =
             Instance.call_exported_function(
               store_or_caller,
               instance,
               name,
               params,
               {self(), ref},
               timeout
             )

    receive do
      {^ref, result} -> result
    after
      wait -> flunk("no reply from #{name} within #{wait} ms")
    end
  end

  @doc "Runs `fun` in a task and fails if it does not finish within `ms` (guards against hangs)."
  def within(ms, fun) do
    task = Task.async(fun)

    case Task.yield(task, ms) || Task.shutdown(task, :brutal_kill) do
      {:ok, value} -> value
      {:exit, reason} -> flunk("the operation crashed: #{inspect(reason)}")
      nil -> flunk("the operation did not finish within #{ms} ms")
    end
  end

  @doc "A unique, empty temporary directory, removed when the test exits."
  def tmp_dir!(prefix \\ "wasmex_test") do
    dir = Path.join(System.tmp_dir!(), "#{prefix}_#{System.unique_integer([:positive])}")

    File.rm_rf!(dir)
    File.mkdir_p!(dir)
    ExUnit.Callbacks.on_exit(fn -> File.rm_rf(dir) end)
    dir
  end

  @doc "The path of a committed fixture."
  def fixture_path(name), do: Path.expand(Path.join(["..", "fixtures", name]), __DIR__)

  # --- Wasmex server and invariant helpers (test/wasmex_test.exs, test/wasmex/invariants_test.exs) ---

  @doc "Starts a `Wasmex` server (linked to the test) and returns its pid."
  def start_wasmex!(opts) do
    assert {:ok, pid} = Wasmex.start_link(opts)
    assert is_pid(pid)
    pid
  end

  @doc "Runs `fun` and returns `{elapsed_ms, result}` (monotonic clock)."
  def timed_ms(fun) do
    started = System.monotonic_time(:microsecond)
    result = fun.()
    {(System.monotonic_time(:microsecond) - started) / 1000, result}
  end

  @doc "Polls `fun` every 10 ms until it returns a truthy value; fails after `ms`."
  def wait_until(fun, ms \\ 2_000) do
    deadline = System.monotonic_time(:millisecond) + ms
    do_wait_until(fun, deadline, ms)
  end

  defp do_wait_until(fun, deadline, ms) do
    case fun.() do
      falsy when falsy in [nil, false] ->
        if System.monotonic_time(:millisecond) >= deadline do
          flunk("condition not met within #{ms} ms")
        else
          Process.sleep(10)
          do_wait_until(fun, deadline, ms)
        end

      value ->
        value
    end
  end

  @doc "Starts a one_for_one supervisor of `children` (linked), shut down when the test exits."
  def supervisor!(children) do
    assert {:ok, sup} = Supervisor.start_link(children, strategy: :one_for_one)
    ExUnit.Callbacks.on_exit(fn -> if Process.alive?(sup), do: Process.exit(sup, :shutdown) end)
    sup
  end

  @doc """
  Kills `first`, the process registered as `name`, waits (up to `wait` ms) for it to go down and
  for its supervisor to register a new process under `name`, and returns that new pid.
  """
  def kill_and_await_restart(name, first, wait \\ 2_000) do
    ref = Process.monitor(first)
    Process.exit(first, :kill)
    assert_receive {:DOWN, ^ref, :process, ^first, :killed}, wait
    wait_until(fn -> (pid = Process.whereis(name)) && pid != first && pid end)
  end

  @doc "A fresh atom usable as a registered name."
  def unique_name(prefix \\ "Wasmex.Test.Server") do
    :"#{prefix}#{System.unique_integer([:positive])}"
  end

  @doc """
  Runs `fun` in a separate, unlinked process and returns its result together with whether that
  process was still alive shortly afterwards (so exit signals sent to it can be detected).
  """
  def in_bystander(fun, wait \\ 10_000) do
    test = self()
    ref = make_ref()

    {pid, monitor} =
      spawn_monitor(fn ->
        send(test, {ref, fun.()})

        receive do
          {:stop, ^ref} -> :ok
        after
          wait -> :ok
        end
      end)

    result =
      receive do
        {^ref, result} -> result
        {:DOWN, ^monitor, :process, ^pid, reason} -> flunk("the process died: #{inspect(reason)}")
      after
        wait -> flunk("no result within #{wait} ms")
      end

    # Exit signals from a failed start_link arrive right after the result, if at all.
    Process.sleep(100)
    alive? = Process.alive?(pid)
    send(pid, {:stop, ref})

    receive do
      {:DOWN, ^monitor, :process, ^pid, _} -> :ok
    after
      wait -> flunk("the bystander did not stop")
    end

    {result, alive?}
  end

  @doc "The OS resident set size of the BEAM, in kB (falls back to `:erlang.memory(:total)`)."
  def rss_kb do
    with {:ok, status} <- File.read("/proc/self/status"),
         [_, kb] <- Regex.run(~r/^VmRSS:\s+(\d+)\s+kB/m, status) do
      String.to_integer(kb)
    else
      _ -> div(:erlang.memory(:total), 1024)
    end
  end

  @doc "Garbage-collects every process and lets the BEAM settle for `ms`."
  def settle(ms \\ 300) do
    :erlang.garbage_collect(self())
    Enum.each(Process.list(), &:erlang.garbage_collect/1)
    Process.sleep(ms)
  end
end
