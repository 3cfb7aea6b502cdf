defmodule Wasmex.Features.InvariantsTest do
  # Timing- and memory-sensitive: run alone.
  use Wasmex.Case, async: false

  alias Wasmex.{Engine, EngineConfig, Memory, Store, StoreLimits, StoreOrCaller}

  @moduletag :invariants
  @moduletag timeout: 300_000

  @mib 1_048_576

  @work_wat ~S"""
  (module
    (memory (export "memory") 1)
    (func (export "sum") (param i32 i32) (result i32)
      local.get 0 local.get 1 i32.add)
    (func (export "spin") (loop $l br $l))
    (func $recurse (export "recurse") (param i32) (result i32)
      local.get 0 i32.const 1 i32.add call $recurse)
    (func (export "touch") (param i32 i32)
      local.get 0 local.get 1 i32.store8)
  )
  """

  @grow_wat ~S"""
  (module
    (memory (export "memory") 1)
    (func (export "grow") (param i32) (result i32)
      local.get 0 memory.grow)
    (func (export "pages") (result i32) memory.size)
    (func (export "bomb") (result i32) (local $r i32)
      (loop $l
        (local.set $r (memory.grow (i32.const 1)))
        (br_if $l (i32.ne (local.get $r) (i32.const -1))))
      local.get $r)
    (func (export "write_last") (param i32)
      memory.size i32.const 65536 i32.mul i32.const 1 i32.sub local.get 0 i32.store8)
  )
  """

  defp assert_vm_fine do
    pid = start_wasmex!(%{bytes: @work_wat})
    assert {:ok, [5]} = Wasmex.call_function(pid, :sum, [2, 3])
    :ok = GenServer.stop(pid)
  end

  describe "guests cannot crash the VM" do
    test "infinite recursion (stack overflow) is an error for that call" do
      pid = start_wasmex!(%{bytes: @work_wat})

      assert {:error, reason} = Wasmex.call_function(pid, :recurse, [0])
      assert is_binary(reason)
      assert reason =~ "call stack exhausted"

      # the same server keeps working, and so does the rest of the VM
      assert {:ok, [3]} = Wasmex.call_function(pid, :sum, [1, 2])
      assert {:error, _} = Wasmex.call_function(pid, :recurse, [0])
      assert {:ok, [3]} = Wasmex.call_function(pid, :sum, [1, 2])
      assert_vm_fine()
    end

    test "a memory.grow bomb under a 1 MiB limit sees -1 and the VM is fine" do
      {:ok, store} = Store.new(%StoreLimits{memory_size: @mib})
      pid = start_wasmex!(%{bytes: @grow_wat, store: store})

      assert {:ok, [-1]} = Wasmex.call_function(pid, :bomb, [])
      assert {:ok, [16]} = Wasmex.call_function(pid, :pages, [])
      assert {:ok, [-1]} = Wasmex.call_function(pid, :grow, [1])
      assert {:ok, [-1]} = Wasmex.call_function(pid, :grow, [65_536])
      assert {:ok, [-1]} = Wasmex.call_function(pid, :grow, [-1])

      # the memory that was granted is usable up to its last byte
      assert {:ok, []} = Wasmex.call_function(pid, :write_last, [9])
      {:ok, memory} = Wasmex.memory(pid)
      assert Memory.size(store, memory) == @mib
      assert Memory.get_byte(store, memory, @mib - 1) == 9

      assert_vm_fine()
    end

    test "a memory whose minimum exceeds the limit fails to start" do
      {:ok, store} = Store.new(%StoreLimits{memory_size: @mib})

      assert {:error, "memory minimum size of 17 pages exceeds memory limits"} =
               Wasmex.start_link(%{bytes: ~S[(module (memory 17))], store: store})

      assert_vm_fine()
    end

    test "a huge table over the table_elements limit fails to start" do
      {:ok, store} = Store.new(%StoreLimits{table_elements: 1000})

      {result, caller_alive?} =
        in_bystander(fn ->
          Wasmex.start_link(%{bytes: ~S[(module (table 10000000 funcref))], store: store})
        end)

      assert {:error, reason} = result
      assert is_binary(reason)
      assert reason =~ "table"
      assert caller_alive?
      assert_vm_fine()
    end

    test "malformed binaries are errors" do
      {:ok, valid} = Wasmex.Wat.to_wasm(@work_wat)
      :rand.seed(:exsss, {1, 2, 3})

      fixed = [
        {"empty", ""},
        {"magic only", <<0, "asm">>},
        {"header only, wrong version", <<0, "asm", 2, 0, 0, 0>>},
        {"magic + garbage", <<0, "asm">> <> :binary.copy(<<0xFF, 0x13, 0x00>>, 50)},
        {"header + garbage", <<0, "asm", 1, 0, 0, 0>> <> :binary.copy(<<0x7F>>, 100)},
        {"truncated wasm (half)", binary_part(valid, 0, div(byte_size(valid), 2))},
        {"truncated wasm (all but one byte)", binary_part(valid, 0, byte_size(valid) - 1)},
        {"section length past the end", <<0, "asm", 1, 0, 0, 0, 1, 0xFF, 0xFF, 0xFF, 0x0F>>}
      ]

      random =
        for n <- 1..50 do
          len = :rand.uniform(2_000)
          bytes = :rand.bytes(len)
          bytes = if rem(n, 2) == 0, do: <<0, "asm", 1, 0, 0, 0>> <> bytes, else: bytes
          {"random #{n} (#{byte_size(bytes)} bytes)", bytes}
        end

      for {label, bytes} <- fixed ++ random do
        {result, caller_alive?} = in_bystander(fn -> Wasmex.start_link(%{bytes: bytes}) end)
        assert {:error, reason} = result, "#{label}: expected an error, got #{inspect(result)}"
        assert is_binary(reason), "#{label}: reason #{inspect(reason)}"
        assert caller_alive?, "#{label}: the caller was killed"
      end

      assert_vm_fine()
    end

    test "running out of fuel is an error and the store can be refuelled" do
      {:ok, engine} = Engine.new(%EngineConfig{consume_fuel: true})
      {:ok, store} = Store.new(nil, engine)
      set_fuel_result = StoreOrCaller.set_fuel(store, 10_000)

      pid = start_wasmex!(%{bytes: @work_wat, store: store})

      assert {:error, reason} = Wasmex.call_function(pid, :spin, [])
      assert reason =~ "all fuel consumed"
      assert {:ok, 0} = StoreOrCaller.get_fuel(store)

      assert {:error, reason} = Wasmex.call_function(pid, :sum, [1, 2])
      assert reason =~ "all fuel consumed"

      refuel_result = StoreOrCaller.set_fuel(store, 1_000)
      assert {:ok, [3]} = Wasmex.call_function(pid, :sum, [1, 2])
      assert {:ok, left} = StoreOrCaller.get_fuel(store)
      assert left < 1_000 and left > 0

      # spec 1.3: set_fuel/2 returns :ok
      assert set_fuel_result == :ok
      assert refuel_result == :ok
    end
  end

  describe "process lifecycle" do
    test "killing a server in the middle of an :infinity call crashes nothing" do
      others = for _ <- 1..3, do: start_wasmex!(%{bytes: @work_wat})
      test = self()

      {owner, owner_ref} =
        spawn_monitor(fn ->
          {:ok, server} = Wasmex.start_link(%{bytes: @work_wat})
          send(test, {:server, server})
          result = Wasmex.call_function(server, :spin, [], :infinity)
          send(test, {:call_returned, result})
        end)

      assert_receive {:server, server}, 5_000
      server_ref = Process.monitor(server)

      # wait until the server is inside the guest call
      wait_until(fn ->
        case Process.info(server, :current_stacktrace) do
          {:current_stacktrace, stack} -> Enum.any?(stack, &match?({Wasmex.Driver, _, _, _}, &1))
          nil -> false
        end
      end)

      Process.sleep(50)
      Process.exit(server, :kill)

      assert_receive {:DOWN, ^server_ref, :process, ^server, :killed}, 1_000
      # the owner is linked to the server and goes down with it
      assert_receive {:DOWN, ^owner_ref, :process, ^owner, :killed}, 1_000
      refute_received {:call_returned, _}

      for pid <- others do
        assert {:ok, [7]} = Wasmex.call_function(pid, :sum, [3, 4])
      end

      assert_vm_fine()
    end

    test "repeatedly killing servers mid-call leaves the VM usable" do
      for _ <- 1..20 do
        test = self()

        {owner, owner_ref} =
          spawn_monitor(fn ->
            {:ok, s} = Wasmex.start_link(%{bytes: @work_wat})
            send(test, {:server, self(), s})
            Wasmex.call_function(s, :spin, [], :infinity)
          end)

        assert_receive {:server, ^owner, s}, 5_000
        ref = Process.monitor(s)
        Process.sleep(5)
        Process.exit(s, :kill)
        assert_receive {:DOWN, ^ref, :process, ^s, :killed}, 1_000
        assert_receive {:DOWN, ^owner_ref, :process, ^owner, _}, 1_000
      end

      assert_vm_fine()
    end
  end

  describe "concurrency and isolation" do
    test "1000 concurrent calls over 10 servers all return the right sums" do
      servers = List.to_tuple(for _ <- 1..10, do: start_wasmex!(%{bytes: @work_wat}))

      results =
        1..1000
        |> Task.async_stream(
          fn i ->
            server = elem(servers, rem(i, 10))
            {i, Wasmex.call_function(server, :sum, [i, 2 * i], 10_000)}
          end,
          max_concurrency: 100,
          timeout: 20_000
        )
        |> Enum.map(fn {:ok, value} -> value end)

      assert length(results) == 1000

      for {i, result} <- results do
        assert result == {:ok, [3 * i]}, "call #{i} returned #{inspect(result)}"
      end
    end

    test "a spinning guest does not delay a short call on another server" do
      spinner = start_wasmex!(%{bytes: @work_wat})
      worker = start_wasmex!(%{bytes: @work_wat})

      spin = Task.async(fn -> Wasmex.call_function(spinner, :spin, [], 2_000) end)
      # let the spinner get going
      Process.sleep(100)

      latencies =
        for _ <- 1..50 do
          {ms, result} = timed_ms(fn -> Wasmex.call_function(worker, :sum, [1, 2]) end)
          assert result == {:ok, [3]}
          Process.sleep(5)
          ms
        end

      assert Enum.max(latencies) < 50,
             "a short call took #{Enum.max(latencies)} ms while another guest was spinning"

      assert {:error, :timeout} = Task.await(spin, 5_000)
    end

    test "guests spinning on every scheduler leave the BEAM responsive" do
      n = System.schedulers_online()
      spinners = for _ <- 1..n, do: start_wasmex!(%{bytes: @work_wat})

      tasks =
        Enum.map(spinners, &Task.async(fn -> Wasmex.call_function(&1, :spin, [], 2_000) end))

      Process.sleep(100)

      echo =
        spawn_link(fn ->
          Stream.repeatedly(fn ->
            receive do
              {:ping, from} -> send(from, :pong)
            end
          end)
          |> Stream.run()
        end)

      latencies =
        for _ <- 1..50 do
          {ms, _} =
            timed_ms(fn ->
              send(echo, {:ping, self()})
              assert_receive :pong, 1_000
            end)

          Process.sleep(5)
          ms
        end

      assert Enum.max(latencies) < 50,
             "a message round trip took #{Enum.max(latencies)} ms with #{n} spinning guests"

      for task <- tasks, do: assert({:error, :timeout} = Task.await(task, 5_000))
      Process.unlink(echo)
      Process.exit(echo, :kill)
    end
  end

  describe "resources are freed" do
    test "2,000 start/stop cycles with a 64 KiB memory keep RSS growth under 50 MB" do
      cycle = fn ->
        {:ok, pid} = Wasmex.start_link(%{bytes: @work_wat})
        {:ok, []} = Wasmex.call_function(pid, :touch, [65_535, 1])
        {:ok, store} = Wasmex.store(pid)
        {:ok, memory} = Wasmex.memory(pid)
        65_536 = Memory.size(store, memory)
        :ok = GenServer.stop(pid)
      end

      # warm up (code loading, allocator pools), then measure
      for _ <- 1..100, do: cycle.()
      settle()
      before_kb = rss_kb()
      before_total = :erlang.memory(:total)

      for _ <- 1..2_000, do: cycle.()

      settle(500)
      after_kb = rss_kb()
      after_total = :erlang.memory(:total)

      growth_mb = (after_kb - before_kb) / 1024

      assert growth_mb < 50,
             "RSS grew by #{Float.round(growth_mb, 1)} MB over 2,000 cycles " <>
               "(#{before_kb} kB -> #{after_kb} kB; erlang total #{before_total} -> #{after_total})"

      assert (after_total - before_total) / @mib < 50
    end
  end
end
