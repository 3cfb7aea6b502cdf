defmodule Wasmex.Features.ManyLiveInstancesTest do
  # What a live instance costs in memory mappings, the engine settings that shrink it
  # (`Wasmex.EngineConfig.memory/2`, native/wasmex/src/engine.rs) and the error of a mapping the
  # kernel refuses (native/wasmex/src/error.rs). Figures: bench/live_instances.exs.
  #
  # Not async: the mapping counts are of the whole VM, so no other test may map memory meanwhile.
  use ExUnit.Case, async: false

  alias Wasmex.{Engine, EngineConfig}
  alias Wasmex.Components.{Component, Instance, Store}

  # One page of memory; `bump` writes its first OS page.
  @counter File.read!("test/fixtures/components/counter.wat")

  # A memory that grows: `grow` marks each new page with 7, `total` sums the first word of each.
  @growing """
  (component
    (core module $g
      (memory (export "mem") 1)
      (func (export "grow") (param i32) (result i32)
        (local $old i32)
        (local.set $old (memory.grow (local.get 0)))
        (if (i32.ge_s (local.get $old) (i32.const 0))
          (then (i32.store (i32.mul (local.get $old) (i32.const 65536)) (i32.const 7))))
        (local.get $old))
      (func (export "total") (result i32)
        (local $p i32) (local $sum i32)
        (block $done
          (loop $next
            (br_if $done (i32.ge_u (local.get $p) (i32.mul (memory.size) (i32.const 65536))))
            (local.set $sum (i32.add (local.get $sum) (i32.load (local.get $p))))
            (local.set $p (i32.add (local.get $p) (i32.const 65536)))
            (br $next)))
        (local.get $sum)))
    (core instance $gi (instantiate $g))
    (func (export "grow") (param "pages" u32) (result s32) (canon lift (core func $gi "grow")))
    (func (export "total") (result u32) (canon lift (core func $gi "total"))))
  """

  @small [reservation: 0, guard_size: 0, reservation_for_growth: 0]

  # 1 PiB: more than a 47-bit (or 56-bit) address space holds, so every mmap of it fails.
  @too_big 1_125_899_906_842_624

  defp engine!(memory) do
    {:ok, engine} = Engine.new(EngineConfig.memory(%EngineConfig{}, memory))
    engine
  end

  defp instance(engine, source \\ @counter) do
    with {:ok, store} <- Store.new(nil, engine),
         {:ok, component} <- Component.new(store, source) do
      Instance.new(store, component, %{})
    end
  end

  defp mappings, do: "/proc/self/maps" |> File.stream!() |> Enum.count()

  describe "an engine with small memory reservations" do
    test "runs instances whose memory grows (and moves) with its contents kept" do
      {:ok, counter} = instance(engine!(@small))
      assert {:ok, 1} = Instance.call(counter, "bump", [])
      assert {:ok, 2} = Instance.call(counter, "bump", [])

      {:ok, instance} = instance(engine!(@small), @growing)
      assert {:ok, 0} = Instance.call(instance, "total", [])
      # Each grow moves the memory (nothing is reserved beyond its size); the marks stay.
      for page <- 1..8 do
        assert {:ok, ^page} = Instance.call(instance, "grow", [1])
      end

      assert {:ok, total} = Instance.call(instance, "total", [])
      assert total == 8 * 7
      # The 4 GiB limit of a 32-bit memory stays: a grow past it fails in the guest.
      assert {:ok, -1} = Instance.call(instance, "grow", [65_536])
    end

    test "lets live instances hold far fewer memory mappings than the defaults" do
      n = 300
      # Stores that earlier tests left to the garbage collector are freed first, so that their
      # unmapping does not overlap the counts.
      Enum.each(Process.list(), &:erlang.garbage_collect/1)
      Process.sleep(100)
      small = engine!(@small)
      default = engine!([])
      {:ok, _} = instance(small)
      {:ok, _} = instance(default)

      per_instance = fn engine ->
        before = mappings()
        held = for _ <- 1..n, do: elem(instance(engine), 1)
        added = mappings() - before
        # `held` stays referenced until the count is taken.
        assert length(held) == n
        added / n
      end

      # Defaults: the memory's 64 KiB and its 4 GiB reservation (2 mappings); small: one mapping
      # of exactly 64 KiB, which the kernel merges with its neighbours.
      assert per_instance.(default) >= 1.5
      assert per_instance.(small) < 0.5
    end
  end

  describe "components compiled from the same bytes" do
    # They share the instantiations prepared for them (native/wasmex/src/component/instance.rs),
    # matched by engine and imports map.
    @importer """
    (component
      (import "get" (func $get (result u32)))
      (core func $get_low (canon lower (func $get)))
      (core module $m
        (import "host" "get" (func $get (result i32)))
        (func (export "twice") (result i32) (i32.mul (call $get) (i32.const 2))))
      (core instance $i (instantiate $m (with "host" (instance (export "get" (func $get_low))))))
      (func (export "twice") (result u32) (canon lift (core func $i "twice"))))
    """

    test "each instance calls its own imports" do
      engine = engine!(@small)

      twice = fn imports ->
        {:ok, store} = Store.new(nil, engine)
        {:ok, component} = Component.new(store, @importer)

        with {:ok, instance} <- Instance.new(store, component, imports),
             do: Instance.call(instance, "twice", [])
      end

      assert twice.(%{"get" => {:fn, fn -> 1 end}}) == {:ok, 2}
      assert twice.(%{"get" => {:fn, fn -> 5 end}}) == {:ok, 10}
      assert twice.(%{"get" => {:fn, fn -> 1 end}}) == {:ok, 2}
      assert {:error, "component imports function `get`, but a matching" <> _} = twice.(%{})
      assert twice.(%{"get" => {:fn, fn -> 21 end}}) == {:ok, 42}
    end
  end

  describe "a mapping the kernel refuses" do
    test "fails instantiation with an error naming the settings to raise" do
      for memory <- [[reservation: @too_big], [guard_size: @too_big]] do
        assert {:error, reason} = instance(engine!(memory))
        assert reason =~ "Cannot allocate memory"
        assert reason =~ "the kernel refused a memory mapping (ENOMEM)"
        assert reason =~ "vm.max_map_count"
        assert reason =~ "ulimit -v"
        assert reason =~ "Wasmex.EngineConfig.memory/2"
      end
    end

    test "says so for core modules too, and other failures do not" do
      {:ok, store} = Wasmex.Store.new(nil, engine!(reservation: @too_big))
      {:ok, module} = Wasmex.Module.compile(store, "(module (memory 1))")
      assert {:error, reason} = Wasmex.Instance.new(store, module, %{})
      assert reason =~ "the kernel refused a memory mapping (ENOMEM)"

      {:ok, store} = Wasmex.Store.new(%Wasmex.StoreLimits{memory_size: 1}, engine!(@small))
      {:ok, module} = Wasmex.Module.compile(store, "(module (memory 1))")
      assert {:error, reason} = Wasmex.Instance.new(store, module, %{})
      refute reason =~ "kernel refused"
    end
  end
end
