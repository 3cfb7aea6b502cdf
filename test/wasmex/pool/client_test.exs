defmodule Wasmex.Pool.ClientTest do
  # Which member a caller picks, read from the pool's counters alone (no member runs here).
  use ExUnit.Case, async: true

  alias Wasmex.Pool.{Client, Info}

  # A pool's info with these callers in flight per member, `max_waiting` 10 per member, one
  # member per scheduler (`spread` 1; see "a pool with more members than schedulers").
  defp info(loads, spread \\ 1) do
    size = length(loads)
    pool = %{name: :client_test, size: size, fresh: false, spill: false, distributed: false}
    info = Info.new(Wasmex.Pool.Core, Map.merge(pool, %{watch: false, max_waiting: 10 * size}))
    info = %{info | schedulers: 2, spread: spread}

    for {load, index} <- Enum.with_index(loads, 1),
        _ <- List.duplicate(nil, load),
        do: Info.enter(info, index)

    info
  end

  describe "pick/3" do
    test "each scheduler has a member of its own, taken when it is idle" do
      info = info([0, 0, 0])
      assert Client.pick(info, 1, self()) == {2, 0}
      assert Client.pick(info, 2, self()) == {3, 0}
      assert Client.pick(info, 3, self()) == {1, 0}
      assert Client.pick(info, 4, self()) == {2, 0}
    end

    test "a busy own member gives way to an idle one among the next three" do
      assert Client.pick(info([0, 1]), 1, self()) == {1, 0}
      assert Client.pick(info([3, 2, 5, 0, 0]), 1, self()) == {4, 0}
      # the idle member is more than three after the own one: not seen
      assert Client.pick(info([0, 4, 4, 4, 4]), 1, self()) == {2, 4}
    end

    test "with no member idle, the caller queues at its own member up to max_queue" do
      assert Client.pick(info([1, 9]), 1, self()) == {2, 9}
      assert Client.pick(info([1, 10]), 1, self()) == {2, 10}
    end

    test "past max_queue the least loaded of the four is taken" do
      assert Client.pick(info([3, 11]), 1, self()) == {1, 3}
      assert Client.pick(info([12, 13, 14]), 1, self()) == {1, 12}
      # nobody less loaded: the own member (the caller then gets :overloaded)
      assert Client.pick(info([13, 11]), 1, self()) == {2, 11}
    end

    test "a pool with more members than schedulers gives every member callers" do
      # 8 members, 2 schedulers: each scheduler has 4, told apart by a hash of the caller.
      info = info(List.duplicate(0, 8), 4)
      callers = for _ <- 1..200, do: spawn(fn -> :ok end)
      owns = fn scheduler -> MapSet.new(callers, &elem(Client.pick(info, scheduler, &1), 0)) end

      assert owns.(1) == MapSet.new([2, 4, 6, 8])
      assert owns.(2) == MapSet.new([1, 3, 5, 7])
      # one caller keeps to one member
      [caller | _] = callers
      assert Client.pick(info, 1, caller) == Client.pick(info, 1, caller)
    end

    test "the pool's info spreads members over the schedulers it was started with" do
      pool = %{name: :client_test, fresh: false, spill: false, distributed: false, watch: false}
      new = &Info.new(Wasmex.Pool.Core, Map.merge(pool, %{size: &1, max_waiting: 10}))
      schedulers = System.schedulers_online()
      assert %{schedulers: ^schedulers, spread: 1} = new.(schedulers)
      assert new.(4 * schedulers).spread == 4
      assert new.(4 * schedulers + 1).spread == 5
      assert new.(1).spread == 1
    end

    test "a pool of one member" do
      assert Client.pick(info([0]), 7, self()) == {1, 0}
      assert Client.pick(info([25]), 7, self()) == {1, 25}
    end
  end
end
