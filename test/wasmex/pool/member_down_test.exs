defmodule Wasmex.Pool.MemberDownTest do
  # A pool call whose member dies answers `{:error, {:member_down, reason}}`, and the reason
  # holds no arguments (issue 8 item 6, as for the servers).
  use ExUnit.Case, async: true

  import Wasmex.PoolTestHelpers

  @moduletag :capture_log

  test "a member that crashes: the stacktrace in the reason has arities, not arguments" do
    pool = start_pool!(size: 1)
    {holder, runner} = hold_member!(pool)

    crash = {:badarg, [{Wasmex.Pool.Member, :handle_call, ["a secret argument", :x], [line: 1]}]}
    Process.exit(runner, crash)

    assert {:error, {:member_down, reason}} = Task.await(holder)
    assert reason == {:badarg, [{Wasmex.Pool.Member, :handle_call, 2, [line: 1]}]}
    refute inspect(reason, limit: :infinity) =~ "secret"
  end

  test "other reasons stay as they are" do
    pool = start_pool!(size: 1)
    {holder, runner} = hold_member!(pool)
    Process.exit(runner, {:shutdown, :replaced})
    assert Task.await(holder) == {:error, {:member_down, {:shutdown, :replaced}}}
  end
end
