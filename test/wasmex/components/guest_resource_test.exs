defmodule Wasmex.Components.GuestResourceTest do
  use Wasmex.GuestResourceCase, async: true

  @moduletag timeout: 60_000
  @moduletag :capture_log

  # Every test gets a server of the resources fixture as `pid`.
  setup :server

  # `new` holds `new_value` and is a resource of its own: adding to it leaves `old` at `old_value`.
  defp assert_separate(new, new_value, old, old_value) do
    assert {:ok, ^new_value} = value(new)
    incremented = new_value + 1
    assert {:ok, ^incremented} = GuestResource.call(new, :method, :add, [1])
    assert {:ok, ^old_value} = value(old)
  end

  describe "new/4" do
    test "calls the constructor on a server and returns a handle", %{pid: pid} do
      assert {:ok, %GuestResource{} = acc} = GuestResource.new(pid, @accumulator, [10])
      assert_handle(acc)
      assert {:ok, 10} = value(acc)
    end

    test "calls the constructor on a low-level instance" do
      {_store, _component, instance} = instance!()
      assert {:ok, %GuestResource{} = acc} = GuestResource.new(instance, @accumulator, [3])
      assert {:ok, 4} = GuestResource.call(acc, :method, :add, [1])
      assert {:ok, 4} = Instance.call(instance, {@counters, "peek"}, [acc])
    end

    test "the path may be a tuple or a list of atoms", %{pid: pid} do
      assert {:ok, a} = GuestResource.new(pid, {@counters, "accumulator"}, [1])
      assert {:ok, b} = GuestResource.new(pid, [String.to_atom(@counters), :accumulator], [2])
      assert {:ok, 1} = value(a)
      assert {:ok, 2} = value(b)
    end

    test "constructs the other resource type of the interface", %{pid: pid} do
      assert {:ok, %GuestResource{} = label} = GuestResource.new(pid, @label, ["hi"])
      assert {:ok, "hi"} = GuestResource.call(label, :method, :text, [])
    end

    test "every call makes a separate resource", %{pid: pid} do
      a = acc!(pid, 1)
      b = acc!(pid, 1)
      assert {:ok, 6} = GuestResource.call(a, :method, :add, [5])
      assert {:ok, 1} = value(b)
    end

    test "a path with fewer than two segments is an error", %{pid: pid} do
      assert {:error,
              "Resource path must contain an exported interface and a resource name, got: [\"wasmex:resources/counters@1.2.3\"]"} =
               GuestResource.new(pid, [@counters], [1])

      assert {:error,
              "Resource path must contain an exported interface and a resource name, got: \"accumulator\""} =
               GuestResource.new(pid, "accumulator", [1])
    end

    test "a missing resource or interface is an error naming the export", %{pid: pid} do
      assert {:error,
              "exported function `[wasmex:resources/counters@1.2.3, [constructor]nope]` not found. Could not find `[constructor]nope` at position 1"} =
               GuestResource.new(pid, [@counters, "nope"], [1])

      assert {:error,
              "exported function `[wasmex:nope/x@1.0.0, [constructor]accumulator]` not found. Could not find `wasmex:nope/x@1.0.0` at position 0"} =
               GuestResource.new(pid, ["wasmex:nope/x@1.0.0", "accumulator"], [1])
    end

    test "argument errors", %{pid: pid} do
      assert {:error, "Expected 1 guest resource arguments, got 0"} =
               GuestResource.new(pid, @accumulator, [])

      assert {:error, "Expected 1 guest resource arguments, got 2"} =
               GuestResource.new(pid, @accumulator, [1, 2])

      assert {:error, "Could not convert Binary to U32 (argument 1)"} =
               GuestResource.new(pid, @accumulator, ["x"])
    end

    test "params must be a list", %{pid: pid} do
      assert_raise FunctionClauseError, fn -> GuestResource.new(pid, @accumulator, 1) end
    end
  end

  describe "call/5" do
    test "methods with one result, no result and a tuple result", %{pid: pid} do
      acc = acc!(pid, 10)
      assert {:ok, 15} = GuestResource.call(acc, :method, :add, [5])
      assert {:ok, 20} = GuestResource.call(acc, :method, "add", [5])
      assert {:ok, 20} = GuestResource.call(acc, :async_method, :value, [])
      assert {:ok, {20, 40}} = GuestResource.call(acc, :method, :pair, [])
      assert :ok = GuestResource.call(acc, :method, :reset, [])
      assert {:ok, 0} = value(acc)
      assert {:ok, {0, 0}} = GuestResource.call(acc, :method, :pair, [])
    end

    test "underscores in the name become dashes", %{pid: pid} do
      acc = acc!(pid, 1)
      other = acc!(pid, 7)
      assert {:ok, 7} = GuestResource.call(acc, :method, :peek_other, [other])
      assert {:ok, 7} = GuestResource.call(acc, :method, "peek_other", [other])
      assert {:ok, 7} = GuestResource.call(acc, :method, "peek-other", [other])
    end

    test "accepts a timeout", %{pid: pid} do
      acc = acc!(pid, 2)
      assert {:ok, 3} = GuestResource.call(acc, :method, :add, [1], 5_000)
      assert {:ok, 3} = GuestResource.call(acc, :method, :value, [], :infinity)
    end

    test "a borrowed argument stays usable", %{pid: pid} do
      acc = acc!(pid, 1)
      other = acc!(pid, 7)
      assert {:ok, 7} = GuestResource.call(acc, :method, :peek_other, [other])
      assert {:ok, 7} = GuestResource.call(acc, :method, :peek_other, [other])
      assert {:ok, 8} = GuestResource.call(other, :method, :add, [1])
      assert {:ok, 1} = value(acc)
    end

    test "a handle borrowed by its own method call", %{pid: pid} do
      acc = acc!(pid, 4)
      assert {:ok, 4} = GuestResource.call(acc, :method, :peek_other, [acc])
      assert {:ok, 4} = value(acc)
    end

    test "an owned argument moves into the guest", %{pid: pid} do
      acc = acc!(pid, 10)
      other = acc!(pid, 7)
      assert dropped(pid) == 0

      assert {:ok, 17} = GuestResource.call(acc, :method, :absorb, [other])
      # the guest dropped `other` at the end of `absorb`
      assert dropped(pid) == 1

      assert {:error, @moved_arg} = GuestResource.call(acc, :method, :absorb, [other])
      assert {:error, @moved_arg} = GuestResource.call(acc, :method, :peek_other, [other])
      assert {:error, @moved} = value(other)
      assert {:error, @moved} = GuestResource.call(other, :method, :add, [1])
      assert {:ok, 17} = value(acc)
    end

    test "a handle cannot move its own receiver", %{pid: pid} do
      acc = acc!(pid, 3)

      assert {:error, "Guest resource cannot move its own receiver"} =
               GuestResource.call(acc, :method, :absorb, [acc])

      # the drop count is read while `acc` is still referenced (a collected handle is dropped)
      assert dropped(pid) == 0
      assert {:ok, 3} = value(acc)
    end

    test "a handle of another resource type is rejected and not moved", %{pid: pid} do
      acc = acc!(pid, 1)
      assert {:ok, label} = GuestResource.new(pid, @label, ["hi"])

      assert {:error, @wrong_type_arg} = GuestResource.call(acc, :method, :peek_other, [label])
      assert {:error, @wrong_type_arg} = GuestResource.call(acc, :method, :absorb, [label])
      assert {:ok, "hi"} = GuestResource.call(label, :method, :text, [])
      assert {:ok, 1} = value(acc)
    end

    test "a method the handle's resource type does not have", %{pid: pid} do
      acc = acc!(pid, 1)
      assert {:ok, label} = GuestResource.new(pid, @label, ["hi"])

      assert {:error,
              "exported function `[wasmex:resources/counters@1.2.3, [method]label.add]` not found. Could not find `[method]label.add` at position 1"} =
               GuestResource.call(label, :method, :add, [1])

      assert {:error,
              "exported function `[wasmex:resources/counters@1.2.3, [method]accumulator.nope]` not found. Could not find `[method]accumulator.nope` at position 1"} =
               GuestResource.call(acc, :method, :nope, [])
    end

    test "argument count and type errors", %{pid: pid} do
      acc = acc!(pid, 1)

      assert {:error, "Expected 1 guest resource arguments, got 0"} =
               GuestResource.call(acc, :method, :add, [])

      assert {:error, "Expected 1 guest resource arguments, got 2"} =
               GuestResource.call(acc, :method, :add, [1, 2])

      assert {:error, "Could not convert Atom to U32 (argument 1)"} =
               GuestResource.call(acc, :method, :add, [:x])

      assert {:ok, 1} = value(acc)
    end

    test "a resource returned directly is a new handle", %{pid: pid} do
      acc = acc!(pid, 10)
      assert {:ok, %GuestResource{} = split} = GuestResource.call(acc, :method, :split, [4])
      assert_separate(split, 4, acc, 10)
    end

    test "resources returned in an option", %{pid: pid} do
      acc = acc!(pid, 6)

      assert {:ok, {:some, %GuestResource{} = copy}} =
               GuestResource.call(acc, :method, :maybe_copy, [true])

      assert {:ok, 6} = value(copy)
      assert {:ok, :none} = GuestResource.call(acc, :method, :maybe_copy, [false])
    end

    test "resources returned in a list", %{pid: pid} do
      acc = acc!(pid, 0)
      assert {:ok, handles} = GuestResource.call(acc, :method, :many, [3])
      assert [%GuestResource{}, %GuestResource{}, %GuestResource{}] = handles
      assert Enum.map(handles, &value/1) == [{:ok, 0}, {:ok, 1}, {:ok, 2}]
      assert {:ok, []} = GuestResource.call(acc, :method, :many, [0])
    end

    test "resources returned in a result", %{pid: pid} do
      acc = acc!(pid, 8)

      assert {:ok, {:ok, %GuestResource{} = copy}} =
               GuestResource.call(acc, :method, :checked_copy, [])

      assert {:ok, 8} = value(copy)

      assert {:ok, 9} = GuestResource.call(acc, :method, :add, [1])
      assert {:ok, {:error, "odd"}} = GuestResource.call(acc, :method, :checked_copy, [])
    end

    test "resources returned in a record", %{pid: pid} do
      acc = acc!(pid, 5)

      assert {:ok, %{copy: %GuestResource{} = copy, value: 5}} =
               GuestResource.call(acc, :method, :snapshot, [])

      assert_separate(copy, 5, acc, 5)
    end

    test "returned handles can be moved back into the guest", %{pid: pid} do
      acc = acc!(pid, 1)
      assert {:ok, [_zero, one]} = GuestResource.call(acc, :method, :many, [2])
      assert {:ok, 2} = GuestResource.call(acc, :method, :absorb, [one])
      assert {:error, @moved} = value(one)
    end

    test "an invalid kind raises ArgumentError", %{pid: pid} do
      acc = acc!(pid, 1)

      assert_raise ArgumentError,
                   "kind must be one of [:method, :async_method], got: :function",
                   fn -> GuestResource.call(acc, :function, :value, []) end

      assert_raise ArgumentError,
                   "kind must be one of [:method, :async_method], got: :static",
                   fn -> GuestResource.call(acc, :static, :value, []) end
    end

    test "params that are not a list raise ArgumentError", %{pid: pid} do
      acc = acc!(pid, 1)

      assert_raise ArgumentError, "params must be a list, got: :x", fn ->
        GuestResource.call(acc, :method, :add, :x)
      end
    end

    test "a receiver that is not a guest resource" do
      assert_raise ArgumentError, "expected a %Wasmex.Components.GuestResource{}", fn ->
        GuestResource.call("acc", :method, :value, [])
      end

      assert {:error, "expected a %Wasmex.Components.GuestResource{}"} =
               GuestResource.call(%{resource: make_ref()}, :method, :value, [])
    end

    test "an invalid timeout raises ArgumentError", %{pid: pid} do
      acc = acc!(pid, 1)

      assert_raise ArgumentError,
                   "timeout must be a non-negative integer or :infinity, got: :soon",
                   fn -> GuestResource.call(acc, :method, :value, [], :soon) end
    end
  end

  describe "call_static/6" do
    test "a static function returning a resource", %{pid: pid} do
      assert {:ok, %GuestResource{} = acc} =
               GuestResource.call_static(pid, @accumulator, :static, :from_sum, [1, 2])

      assert {:ok, 3} = value(acc)

      assert {:ok, %GuestResource{} = acc} =
               GuestResource.call_static(pid, @accumulator, :async_static, "from-sum", [3, 4])

      assert {:ok, 7} = value(acc)
    end

    test "a list of borrowed handles", %{pid: pid} do
      a = acc!(pid, 2)
      b = acc!(pid, 3)
      assert {:ok, 5} = GuestResource.call_static(pid, @accumulator, :static, :sum_all, [[a, b]])
      assert {:ok, 4} = GuestResource.call_static(pid, @accumulator, :static, :sum_all, [[a, a]])
      assert {:ok, 0} = GuestResource.call_static(pid, @accumulator, :static, :sum_all, [[]])
      assert {:ok, 2} = value(a)
      assert {:ok, 3} = value(b)
    end

    test "a static function without results", %{pid: pid} do
      assert :ok = GuestResource.call_static(pid, @accumulator, :static, :nothing, [])
      assert :ok = GuestResource.call_static(pid, @accumulator, :async_static, :nothing)
      assert :ok = GuestResource.call_static(pid, @accumulator, :static, :nothing, [], 1_000)
    end

    test "on a low-level instance" do
      {_store, _component, instance} = instance!()

      assert {:ok, %GuestResource{} = acc} =
               GuestResource.call_static(instance, @accumulator, :static, :from_sum, [5, 6])

      assert {:ok, 11} =
               GuestResource.call_static(instance, @accumulator, :static, :sum_all, [[acc]])
    end

    test "a moved or foreign handle in a list names its position", %{pid: pid} do
      a = acc!(pid, 2)
      moved = acc!(pid, 3)
      assert {:ok, 3} = Components.call_function(pid, {@counters, "consume"}, [moved])

      assert {:error,
              "Guest resource has already been dropped or moved at \"list[1]\" (argument 1)"} =
               GuestResource.call_static(pid, @accumulator, :static, :sum_all, [[a, moved]])

      foreign = acc!(start_component!("component_resources"), 1)

      assert {:error, "Guest resource belongs to another store at \"list[1]\" (argument 1)"} =
               GuestResource.call_static(pid, @accumulator, :static, :sum_all, [[a, foreign]])
    end

    test "errors", %{pid: pid} do
      assert {:error,
              "Resource path must contain an exported interface and a resource name, got: [\"wasmex:resources/counters@1.2.3\"]"} =
               GuestResource.call_static(pid, [@counters], :static, :nothing, [])

      assert {:error,
              "exported function `[wasmex:resources/counters@1.2.3, [static]accumulator.nope]` not found. Could not find `[static]accumulator.nope` at position 1"} =
               GuestResource.call_static(pid, @accumulator, :static, :nope, [])

      assert {:error, "Expected 2 guest resource arguments, got 1"} =
               GuestResource.call_static(pid, @accumulator, :static, :from_sum, [1])
    end

    test "an invalid kind or params raise ArgumentError", %{pid: pid} do
      assert_raise ArgumentError,
                   "kind must be one of [:static, :async_static], got: :method",
                   fn -> GuestResource.call_static(pid, @accumulator, :method, :nothing, []) end

      assert_raise ArgumentError, "params must be a list, got: :x", fn ->
        GuestResource.call_static(pid, @accumulator, :static, :nothing, :x)
      end
    end
  end

  describe "drop/2" do
    test "runs the guest's destructor once; dropping twice is :ok", %{pid: pid} do
      acc = acc!(pid, 1)
      assert dropped(pid) == 0
      assert :ok = GuestResource.drop(acc)
      assert dropped(pid) == 1
      assert :ok = GuestResource.drop(acc, 1_000)
      assert dropped(pid) == 1
    end

    test "a dropped handle cannot be used", %{pid: pid} do
      acc = acc!(pid, 1)
      other = acc!(pid, 2)
      assert :ok = GuestResource.drop(acc)
      assert {:error, @moved} = value(acc)
      assert {:error, @moved_arg} = GuestResource.call(other, :method, :peek_other, [acc])
      assert {:error, @moved_arg} = Components.call_function(pid, {@counters, "peek"}, [acc])
    end

    test "dropping a moved handle is :ok and does not run the destructor again", %{pid: pid} do
      acc = acc!(pid, 1)
      other = acc!(pid, 2)
      assert {:ok, 3} = GuestResource.call(acc, :method, :absorb, [other])
      assert dropped(pid) == 1
      assert :ok = GuestResource.drop(other)
      assert dropped(pid) == 1
      # `acc` stays referenced until here: a garbage collected handle would be dropped too
      assert {:ok, 3} = value(acc)
    end

    test "the argument must be a guest resource" do
      assert_raise FunctionClauseError, fn -> GuestResource.drop(:acc) end
    end

    test "a garbage collected handle is dropped before the next call on its store",
         %{pid: pid} do
      kept = acc!(pid, 4)
      assert dropped(pid) == 0

      :ok = make_and_forget(pid)
      :erlang.garbage_collect()

      assert dropped(pid) == 1
      # a handle that is still referenced survives a garbage collection
      assert {:ok, 4} = value(kept)
    end

    test "collected handles are dropped at most 256 per call, and none is lost", %{pid: pid} do
      # The drops run inside the next call's deadline: thousands at once would eat it.
      # The counts are read call after call: each call may drop 256 more at most, and all 600
      # are dropped in the end. (Under a loaded test run the collector may hand over some
      # handles a moment late, so the first call is not asserted to drop exactly 256.)
      assert dropped(pid) == 0
      :ok = make_and_forget_many(pid, 600)
      :erlang.garbage_collect()

      counts = drop_counts(pid, 600, 50)
      steps = Enum.zip_with(counts, [0 | counts], &(&1 - &2))
      assert List.last(counts) == 600, "dropped so far, call after call: #{inspect(counts)}"
      assert Enum.all?(steps, &(&1 in 0..256)), "dropped per call: #{inspect(steps)}"
      assert length(counts) >= 3
      assert dropped(pid) == 600
    end

    # The `dropped` counts of successive calls until `total` (or `max` calls; 10 ms apart while nothing new is dropped).
    defp drop_counts(pid, total, max) do
      Enum.reduce_while(1..max, [], fn _, counts ->
        count = dropped(pid)
        # nothing new to drop yet: give a late collection a moment
        if counts != [] and count == hd(counts), do: Process.sleep(10)
        if count == total, do: {:halt, [count | counts]}, else: {:cont, [count | counts]}
      end)
      |> Enum.reverse()
    end

    test "a call with a short timeout after many collected handles keeps its instance" do
      # The drops run inside the next calls, in the first half of each call's time at most: a
      # call stopped during them would leave the instance unusable for nothing it did. The
      # fixture's accumulators starting at 1,000,000,000 + n spin n iterations when dropped:
      # 256 of them with n = 400,000 take well over a 40 ms call (the time left after the drops
      # stop is the margin a loaded machine needs).
      {_store, _component, instance} = instance!()
      kept = acc!(instance, 7)
      :ok = make_and_forget_many(instance, 300, 1_000_000_000 + 400_000)
      :erlang.garbage_collect()

      results = for _ <- 1..10, do: GuestResource.call(kept, :method, :value, [], 40)
      assert Enum.all?(results, &(&1 in [{:ok, 7}, {:error, :timeout}])), inspect(results)
      assert {:ok, 7} in results
      refute Instance.poisoned?(instance)

      # none is lost: later calls (without a deadline) run the rest
      wait_until(fn ->
        Instance.call(instance, {@counters, "dropped"}, [], 60_000) == {:ok, 300}
      end)

      assert {:ok, 7} = GuestResource.call(kept, :method, :value, [])
    end

    test "the handles of a process that exited are dropped", %{pid: pid} do
      assert dropped(pid) == 0

      assert :ok =
               Task.async(fn -> make_and_forget(pid) end)
               |> Task.await()

      # the exited process's heap is freed asynchronously: poll
      wait_until(fn -> dropped(pid) == 1 end)
    end

    test "dropping the receiver of a trapped call fails like any handle of the broken store" do
      {_instance, acc, other} = trapped_instance!()
      unusable = Components.unusable_error()
      assert {:error, ^unusable} = GuestResource.drop(other)
      assert {:error, ^unusable} = GuestResource.drop(acc)
    end
  end
end
