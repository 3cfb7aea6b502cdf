defmodule Wasmex.Features.FlatListsSchedulerTest do
  # A large numeric list result of the fast path (component/flat_nums.rs) is encoded on a dirty
  # scheduler, as a large `list<u8>` is (see scheduler_bounds_test.exs for the method): 4Mi
  # elements from a call whose arguments are small (so it starts on a normal scheduler) take
  # about 60 ms to encode.
  use Wasmex.Case, async: false

  import Wasmex.SchedulerProbe

  alias Wasmex.Components.{Component, Instance, Store}

  @moduletag :invariants
  @moduletag timeout: 120_000

  @late_ms 40

  test "a 4Mi-element list<u32> result does not hold a normal scheduler" do
    {:ok, store} = Store.new()
    {:ok, component} = Component.new(store, Wasmex.FlatListFixtures.component())
    {:ok, instance} = Instance.new(store, component, %{})

    {late, {:ok, zeros}} = best_lateness(2, fn -> Instance.call(instance, "zeros-u32", []) end)
    assert late < @late_ms
    assert length(zeros) == 4_194_304
    assert Enum.all?(zeros, &(&1 == 0))
  end
end
