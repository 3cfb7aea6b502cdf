defmodule Wasmex.PoolTestHelpers do
  @moduledoc false
  # Shared by the `Wasmex.Pool` tests (test/wasmex/pool_test.exs, test/wasmex/pool/*_test.exs).

  import ExUnit.Assertions

  alias Wasmex.Pool

  # `ping` hands its argument to the Elixir import `env.ping`; `inc` counts calls in a global.
  @wat ~S"""
  (module
    (import "env" "ping" (func $ping (param i32) (result i32)))
    (global $n (mut i32) (i32.const 0))
    (func (export "sum") (param i32 i32) (result i32) local.get 0 local.get 1 i32.add)
    (func (export "inc") (result i32)
      global.get $n i32.const 1 i32.add global.set $n global.get $n)
    (func (export "boom") unreachable)
    (func (export "spin") (loop br 0))
    (func (export "ping") (param i32) (result i32) local.get 0 call $ping))
  """

  @doc "The module of the pool tests."
  def wat, do: @wat

  # The import reports to the test which process runs it, then waits for `:go` when asked to
  # (argument 0), else answers at once.
  def imports(test) do
    %{
      env: %{
        ping:
          {:fn, [:i32], [:i32],
           fn _context, x ->
             send(test, {:ping, self(), x})

             if x == 0 do
               receive do
                 :go -> 0
               after
                 5000 -> -1
               end
             else
               x * 10
             end
           end}
      }
    }
  end

  def start_pool!(opts) do
    name = :"pool_#{System.unique_integer([:positive])}"
    opts = Keyword.merge([name: name, bytes: @wat, imports: imports(self()), size: 1], opts)
    ExUnit.Callbacks.start_supervised!({Pool, opts}, id: name)
    name
  end

  # A call that holds the pool's only member until the test sends `:go` to the caller.
  def hold_member!(pool) do
    task = Task.async(fn -> Pool.call_function(pool, "ping", [0], 10_000) end)
    assert_receive {:ping, runner, 0}, 2000
    {task, runner}
  end

  # The pids of the pool's member processes that are running.
  def members(pool) do
    supervisor = pool |> Process.whereis() |> Process.info(:links) |> elem(1) |> hd()

    for {_, pid, _, [Wasmex.Pool.Member]} <- Supervisor.which_children(supervisor),
        is_pid(pid),
        do: pid
  end

  # Kills the process registered under the pool's name and waits for its successor.
  def kill_keeper(pool) do
    old = Process.whereis(pool)
    Process.exit(old, :kill)
    eventually(fn -> Process.whereis(pool) not in [nil, old] end)
  end

  def eventually(fun, tries \\ 100) do
    cond do
      fun.() -> true
      tries == 0 -> flunk("condition not reached")
      true -> Process.sleep(20) && eventually(fun, tries - 1)
    end
  end
end
