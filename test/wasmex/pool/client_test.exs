defmodule Wasmex.Pool.ClientTest do
  # Which member a caller picks, read from the pool's counters alone (no member runs here).
  use ExUnit.Case, async: true

  alias Wasmex.Pool.{Client, Info}

  # A pool's info with these callers in flight per member, `max_waiting` 10 per member.
  defp info(loads) do
    size = length(loads)
    pool = %{name: :client_test, size: size, fresh: false, spill: false, distributed: false}
    info = Info.new(Wasmex.Pool.Core, Map.merge(pool, %{watch: false, max_waiting: 10 * size}))

    for {load, index} <- Enum.with_index(loads, 1),
        _ <- List.duplicate(nil, load),
        do: Info.enter(info, index)

    info
  end

  describe "pick/2" do
    test "each scheduler has a member of its own, taken when it is idle" do
      info = info([0, 0, 0])
      assert Client.pick(info, 1) == {2, 0}
      assert Client.pick(info, 2) == {3, 0}
      assert Client.pick(info, 3) == {1, 0}
      assert Client.pick(info, 4) == {2, 0}
    end

    test "a busy own member gives way to an idle one among the next three" do
      assert Client.pick(info([0, 1]), 1) == {1, 0}
      assert Client.pick(info([3, 2, 5, 0, 0]), 1) == {4, 0}
      # the idle member is more than three after the own one: not seen
      assert Client.pick(info([0, 4, 4, 4, 4]), 1) == {2, 4}
    end

    test "with no member idle, the caller queues at its own member up to max_queue" do
      assert Client.pick(info([1, 9]), 1) == {2, 9}
      assert Client.pick(info([1, 10]), 1) == {2, 10}
    end

    test "past max_queue the least loaded of the four is taken" do
      assert Client.pick(info([3, 11]), 1) == {1, 3}
      assert Client.pick(info([12, 13, 14]), 1) == {1, 12}
      # nobody less loaded: the own member (the caller then gets :overloaded)
      assert Client.pick(info([13, 11]), 1) == {2, 11}
    end

    test "a pool of one member" do
      assert Client.pick(info([0]), 7) == {1, 0}
      assert Client.pick(info([25]), 7) == {1, 25}
    end
  end
end
