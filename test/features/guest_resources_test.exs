defmodule Wasmex.Features.GuestResourcesTest do
  # Guest resource handles across the layers: calls on a trapped, timed-out or busy store, a
  # server that replaces its instance, handles of other servers or instances, and handles as
  # arguments and results of `Wasmex.Components.call_function/4`.
  use Wasmex.GuestResourceCase, async: true

  @moduletag timeout: 60_000
  @moduletag :capture_log

  # Every test gets a server of the resources fixture as `pid`.
  setup :server

  describe "call/5" do
    test "a trap is an error, and the server replaces its instance", %{pid: pid} do
      acc = acc!(pid, 1)
      assert :ok = GuestResource.drop(acc!(pid, 2))
      assert dropped(pid) == 1

      assert {:error, "Error executing function" <> message} =
               GuestResource.call(acc, :method, :fail, [])

      assert message =~ "wasm `unreachable` instruction executed"

      # the server's next call runs on a new instance (the guest's state starts over)
      assert dropped(pid) == 0
      fresh = acc!(pid, 5)
      assert {:ok, 6} = GuestResource.call(fresh, :method, :add, [1])
    end

    test "a timeout stops a spinning method, and the server recovers", %{pid: pid} do
      acc = acc!(pid, 1)

      {ms, result} = timed_ms(fn -> GuestResource.call(acc, :method, :spin, [], 100) end)
      assert result == {:error, :timeout}
      assert ms < 2_000

      # the server replaces the broken instance before its next call
      assert dropped(pid) == 0
      fresh = acc!(pid, 5)
      assert {:ok, 5} = value(fresh)

      # the old handle is not usable any more
      assert {:error, _} = value(acc)
      assert {:error, @other_store_arg} = GuestResource.call(fresh, :method, :peek_other, [acc])
    end

    test "a constructor after a broken instance runs on a new instance", %{pid: pid} do
      acc = acc!(pid, 1)
      assert {:error, :timeout} = GuestResource.call(acc, :method, :spin, [], 100)

      # no server call in between: `new/4` has the server replace the instance itself
      fresh = acc!(pid, 3)
      assert dropped(pid) == 0
      assert {:ok, 3} = value(fresh)
    end

    test "on a low-level instance, a trap leaves every handle of the store unusable" do
      {instance, _trapped, other} = trapped_instance!()
      unusable = Components.unusable_error()
      assert {:error, ^unusable} = value(other)
      assert {:error, ^unusable} = GuestResource.new(instance, @accumulator, [1])

      assert {:error, ^unusable} =
               GuestResource.call_static(instance, @accumulator, :static, :nothing, [])
    end

    test "handles of another server are rejected and not moved", %{pid: pid} do
      other_pid = start_component!("component_resources")
      acc = acc!(pid, 1)
      foreign = acc!(other_pid, 2)

      assert {:error, @other_store_arg} = GuestResource.call(acc, :method, :peek_other, [foreign])

      assert {:error, @other_store_arg} = GuestResource.call(acc, :method, :absorb, [foreign])
      assert {:ok, 2} = value(foreign)
      assert {:ok, 1} = value(acc)
      assert dropped(other_pid) == 0
    end

    test "concurrent calls on one handle run one at a time", %{pid: pid} do
      acc = acc!(pid, 0)

      results =
        1..50
        |> Enum.map(fn _ -> Task.async(fn -> GuestResource.call(acc, :method, :add, [1]) end) end)
        |> Enum.map(&Task.await(&1, 10_000))

      assert Enum.sort(results) == Enum.map(1..50, &{:ok, &1})
      assert {:ok, 50} = value(acc)
    end

    test "a call waits for a running call on its store, up to its own timeout", %{pid: pid} do
      {task, other} = spin_on_store!(pid, 1_000)

      assert {:error, "the store is busy with a running call" <> _} =
               GuestResource.call(other, :method, :value, [], 50)

      # a longer timeout waits until the spinning call is stopped; the constructor then runs on
      # the replaced instance
      assert {:ok, fresh} = GuestResource.new(pid, @accumulator, [7], 10_000)
      assert {:ok, 7} = value(fresh)
      assert {:error, :timeout} = Task.await(task, 10_000)
    end

    test "after the server replaced its instance, an old receiver answers the broken instance's error",
         %{pid: pid} do
      acc = acc!(pid, 1)

      assert {:error, "Error executing function" <> _} =
               GuestResource.call(acc, :method, :fail, [])

      # replaces the instance
      assert dropped(pid) == 0

      # as documented in the moduledoc of Wasmex.Components.GuestResource
      unusable = Components.unusable_error()
      assert {:error, ^unusable} = value(acc)
    end

    test "a handle of another instance of the same store is rejected as such" do
      {store, _component, first} = instance!()
      {_store, _component, second} = instance!(store)
      acc = acc!(first, 1)

      assert {:error, "Guest resource " <> _ = message} =
               Instance.call(second, {@counters, "peek"}, [acc])

      assert message == "Guest resource belongs to another instance (argument 1)"
      assert {:ok, 1} = Instance.call(first, {@counters, "peek"}, [acc])
    end

    test "a server call waits for a resource call running on its store", %{pid: pid} do
      {task, _other} = spin_on_store!(pid, 500)

      # waits until the spinning call is stopped, then runs on a replaced instance
      assert {:ok, 0} = Components.call_function(pid, {@counters, "dropped"}, [], 10_000)
      assert {:error, :timeout} = Task.await(task, 10_000)
    end
  end

  describe "Wasmex.Components.call_function/4 with guest resources" do
    test "a freestanding function returning a resource", %{pid: pid} do
      assert {:ok, %GuestResource{} = acc} =
               Components.call_function(pid, {@counters, "make"}, [9])

      assert {:ok, 9} = value(acc)
      assert {:ok, 10} = GuestResource.call(acc, :method, :add, [1])
    end

    test "a borrow parameter leaves the handle usable", %{pid: pid} do
      acc = acc!(pid, 4)
      assert {:ok, 4} = Components.call_function(pid, {@counters, "peek"}, [acc])
      assert {:ok, 4} = Components.call_function(pid, {@counters, "peek"}, [acc])
      assert dropped(pid) == 0
      assert {:ok, 4} = value(acc)
    end

    test "an own parameter moves the handle", %{pid: pid} do
      acc = acc!(pid, 4)
      assert {:ok, 4} = Components.call_function(pid, {@counters, "consume"}, [acc])
      assert dropped(pid) == 1

      assert {:error, @moved_arg} = Components.call_function(pid, {@counters, "consume"}, [acc])
      assert {:error, @moved_arg} = Components.call_function(pid, {@counters, "peek"}, [acc])
      assert {:error, @moved} = value(acc)
      assert :ok = GuestResource.drop(acc)
      assert dropped(pid) == 1
    end

    test "on a low-level instance" do
      {_store, _component, instance} = instance!()
      assert {:ok, %GuestResource{} = acc} = Instance.call(instance, {@counters, "make"}, [2])
      assert {:ok, 2} = Instance.call(instance, {@counters, "peek"}, [acc])
      assert {:ok, 2} = Instance.call(instance, {@counters, "consume"}, [acc])
      assert {:ok, 1} = Instance.call(instance, {@counters, "dropped"}, [])
      assert {:error, @moved} = value(acc)
    end

    test "argument errors", %{pid: pid} do
      acc = acc!(pid, 1)
      assert {:ok, label} = GuestResource.new(pid, @label, ["hi"])

      assert {:error, "number of params does not match. expected 1, got 0"} =
               Components.call_function(pid, {@counters, "consume"}, [])

      assert {:error, "Could not convert Integer to Resource (argument 1)"} =
               Components.call_function(pid, {@counters, "consume"}, [42])

      assert {:error, "Could not convert Map to Resource (argument 1)"} =
               Components.call_function(pid, {@counters, "consume"}, [%{resource: make_ref()}])

      assert {:error, @wrong_type_arg} =
               Components.call_function(pid, {@counters, "consume"}, [label])

      assert dropped(pid) == 0
      assert {:ok, 1} = value(acc)
    end

    test "handles of another server are rejected and not moved", %{pid: pid} do
      other_pid = start_component!("component_resources")
      foreign = acc!(other_pid, 3)

      assert {:error, @other_store_arg} =
               Components.call_function(pid, {@counters, "consume"}, [foreign])

      assert {:ok, 3} = Components.call_function(other_pid, {@counters, "consume"}, [foreign])
      assert dropped(other_pid) == 1
    end

    test "handles from before a trap belong to another store", %{pid: pid} do
      acc = acc!(pid, 1)

      assert {:error, "Error executing function" <> _} =
               GuestResource.call(acc, :method, :fail, [])

      assert {:error, @other_store_arg} =
               Components.call_function(pid, {@counters, "peek"}, [acc])
    end
  end
end
