defmodule Wasmex.Features.HostResourceImportsTest do
  use Wasmex.ComponentCase, async: true

  alias Wasmex.Components
  alias Wasmex.Components.{Component, Instance, Store}

  @moduletag timeout: 60_000
  @moduletag :capture_log

  # test/fixtures/components/component_host_resources.wasm (wasm/component_host_resources)
  @logging "wasmex:host-resources/logging@0.1.0"

  # The guest dropped `logger` and no other logger.
  defp assert_dropped_only(logger) do
    assert_receive {:dropped, ^logger}
    refute_receive {:dropped, _}
  end

  # The imports of the fixture, implementing the `logger` resource with raw import entries. A
  # logger is a map holding its prefix, a unique id and a :counters reference counting its `log`
  # calls. Every callback reports to `test`. `overrides` replace entries of the interface.
  defp logging_imports(test, overrides \\ %{}) do
    logger = fn prefix, id ->
      logger = %{prefix: prefix, id: id, logs: :counters.new(1, [])}
      send(test, {:created, logger})
      logger
    end

    functions = %{
      "logger" =>
        {:resource,
         fn logger ->
           send(test, {:dropped, logger})
           :ok
         end},
      "[constructor]logger" => {:fn, fn prefix -> logger.(prefix, make_ref()) end},
      "[method]logger.log" =>
        {:fn,
         fn logger, msg ->
           send(test, {:log, logger, msg})
           :counters.add(logger.logs, 1, 1)
           logger.prefix <> msg
         end},
      "[method]logger.count" => {:fn, fn logger -> :counters.get(logger.logs, 1) end},
      "[static]logger.make-default" => {:fn, fn -> logger.("default: ", :default) end},
      "consume-logger" =>
        {:fn,
         fn logger ->
           send(test, {:consumed, logger})
           "consumed " <> logger.prefix
         end},
      "peek-logger" =>
        {:fn,
         fn logger ->
           send(test, {:peeked, logger})
           "peeked " <> logger.prefix
         end},
      "maybe-logger" =>
        {:fn,
         fn
           :none -> :none
           {:some, prefix} -> {:some, logger.(prefix, :maybe)}
         end}
    }

    %{@logging => Map.merge(functions, overrides)}
  end

  defp start_logging!(overrides \\ %{}) do
    start_component!("component_host_resources", imports: logging_imports(self(), overrides))
  end

  defp call(pid, name, params), do: Components.call_function(pid, name, params)

  describe "call_function/4 with an imported resource" do
    test "constructor, method and drop" do
      pid = start_logging!()
      assert {:ok, "a: hello"} = call(pid, "use-logger", ["a: ", "hello"])

      assert_receive {:created, %{prefix: "a: "} = logger}
      assert_receive {:log, ^logger, "hello"}
      assert_dropped_only(logger)
    end

    test "methods get the constructor's term on every call" do
      pid = start_logging!()
      assert {:ok, 2} = call(pid, "count-logs", ["c: ", "m"])

      assert_receive {:created, logger}
      assert_receive {:log, ^logger, "m"}
      assert_receive {:log, ^logger, "m"}
      assert_dropped_only(logger)
    end

    test "each guest handle has its own term" do
      pid = start_logging!()

      for i <- 1..20 do
        prefix = "#{i}: "
        assert {:ok, "#{i}: x"} == call(pid, "use-logger", [prefix, "x"])
        assert_receive {:created, %{prefix: ^prefix} = logger}
        assert_receive {:dropped, ^logger}
      end

      refute_receive {:dropped, _}
    end

    test "a logger the guest keeps is not dropped until the guest drops it" do
      pid = start_logging!()
      assert {:ok, []} = call(pid, "keep-logger", ["k1: "])
      assert_receive {:created, first}
      refute_receive {:dropped, _}

      # keeping another one drops the first
      assert {:ok, []} = call(pid, "keep-logger", ["k2: "])
      assert_receive {:created, second}
      assert_dropped_only(first)

      assert {:ok, []} = call(pid, "drop-kept", [])
      assert_receive {:dropped, ^second}

      assert {:ok, []} = call(pid, "drop-kept", [])
      refute_receive {:dropped, _}
    end

    test "an own<logger> parameter gives the term to the import, which is not dropped" do
      pid = start_logging!()
      assert {:ok, "consumed g: "} = call(pid, "give-logger", ["g: "])

      assert_receive {:created, logger}
      assert_receive {:consumed, ^logger}
      refute_receive {:dropped, _}
    end

    test "a borrow<logger> parameter gives the term, and the guest keeps the logger" do
      pid = start_logging!()
      assert {:ok, "peeked l: |l: x"} = call(pid, "lend-logger", ["l: ", "x"])

      assert_receive {:created, logger}
      assert_receive {:peeked, ^logger}
      assert_receive {:log, ^logger, "x"}
      assert_dropped_only(logger)
    end

    test "a static function returning a logger" do
      pid = start_logging!()
      assert {:ok, "default: m"} = call(pid, "default-log", ["m"])

      assert_receive {:created, %{id: :default} = logger}
      assert_receive {:log, ^logger, "m"}
      assert_receive {:dropped, ^logger}
    end

    test "a logger returned in an option" do
      pid = start_logging!()
      assert {:ok, {:some, "p: m"}} = call(pid, "maybe-log", [{:some, "p: "}, "m"])
      assert_receive {:created, %{id: :maybe, prefix: "p: "} = logger}
      assert_receive {:log, ^logger, "m"}
      assert_receive {:dropped, ^logger}

      assert {:ok, :none} = call(pid, "maybe-log", [:none, "m"])
      refute_receive {:created, _}
      refute_receive {:log, _, _}
      refute_receive {:dropped, _}
    end

    test "any term can stand for a logger" do
      test = self()

      pid =
        start_logging!(%{
          "[constructor]logger" => {:fn, fn prefix -> {:logger, prefix} end},
          "[method]logger.log" => {:fn, fn {:logger, prefix}, msg -> prefix <> msg end},
          "logger" => {:resource, fn term -> send(test, {:dropped, term}) && :ok end}
        })

      assert {:ok, "a: b"} = call(pid, "use-logger", ["a: ", "b"])
      assert_receive {:dropped, {:logger, "a: "}}

      # two loggers with equal terms are still two loggers
      assert {:ok, []} = call(pid, "keep-logger", ["same"])
      assert {:ok, []} = call(pid, "keep-logger", ["same"])
      assert_receive {:dropped, {:logger, "same"}}
      refute_receive {:dropped, _}
      assert {:ok, []} = call(pid, "drop-kept", [])
      assert_receive {:dropped, {:logger, "same"}}
    end

    test "servers keep their loggers apart" do
      first = start_logging!()
      second = start_logging!()

      assert {:ok, []} = call(first, "keep-logger", ["one: "])
      assert_receive {:created, one}
      assert {:ok, []} = call(second, "keep-logger", ["two: "])
      assert_receive {:created, two}

      assert {:ok, []} = call(second, "drop-kept", [])
      assert_dropped_only(two)

      assert {:ok, []} = call(first, "drop-kept", [])
      assert_receive {:dropped, ^one}
    end

    test "a drop function that raises fails that call only" do
      test = self()

      pid =
        start_logging!(%{
          "logger" =>
            {:resource,
             fn logger ->
               send(test, {:dropping, logger})
               raise "drop failed"
             end}
        })

      assert {:error, "Error executing function" <> message} =
               call(pid, "use-logger", ["a: ", "hello"])

      assert message =~ "the elixir callback threw an exception"
      assert_receive {:created, logger}
      assert_receive {:dropping, ^logger}

      assert Process.alive?(pid)
      # a call that drops nothing
      assert {:ok, "consumed g: "} = call(pid, "give-logger", ["g: "])
      assert_receive {:consumed, %{prefix: "g: "}}
    end

    test "a method result of the wrong type fails that call only" do
      pid = start_logging!(%{"[method]logger.count" => {:fn, fn _logger -> "many" end}})

      assert {:error, "Error executing function" <> message} =
               call(pid, "count-logs", ["c: ", "m"])

      assert message =~
               "the elixir callback threw an exception: invalid return value: Could not convert Binary to U32"

      assert Process.alive?(pid)
      assert {:ok, "a: hello"} = call(pid, "use-logger", ["a: ", "hello"])
    end

    test "a method that raises fails that call only" do
      pid = start_logging!(%{"[method]logger.log" => {:fn, fn _logger, _msg -> raise "no" end}})

      assert {:error, "Error executing function" <> message} =
               call(pid, "use-logger", ["a: ", "hello"])

      assert message =~ "the elixir callback threw an exception"
      assert {:ok, "consumed g: "} = call(pid, "give-logger", ["g: "])
    end

    test "a constructor that raises fails that call only" do
      pid = start_logging!(%{"[constructor]logger" => {:fn, fn _prefix -> raise "no" end}})

      assert {:error, "Error executing function" <> message} =
               call(pid, "use-logger", ["a: ", "hello"])

      assert message =~ "the elixir callback threw an exception"
      refute_receive {:dropped, _}
      assert {:ok, "default: m"} = call(pid, "default-log", ["m"])
      assert_receive {:dropped, %{id: :default}}
    end
  end

  describe "start_link/1 with an imported resource" do
    test "the resource entry is required" do
      imports = logging_imports(self()) |> update_in([@logging], &Map.delete(&1, "logger"))

      assert {:error,
              "component imports instance `wasmex:host-resources/logging@0.1.0`, but a matching implementation was not found in the linker: instance export `logger` has the wrong type: resource implementation is missing"} =
               Components.start_link(
                 bytes: component_bytes("component_host_resources"),
                 imports: imports
               )
    end

    test "a resource entry without a function is ignored (so the resource is missing)" do
      imports = logging_imports(self(), %{"logger" => {:resource, :drop}})

      assert {:error, message} =
               Components.start_link(
                 bytes: component_bytes("component_host_resources"),
                 imports: imports
               )

      assert message =~
               "instance export `logger` has the wrong type: resource implementation is missing"
    end

    test "every method is required" do
      imports =
        logging_imports(self()) |> update_in([@logging], &Map.delete(&1, "[method]logger.count"))

      assert {:error,
              "component imports instance `wasmex:host-resources/logging@0.1.0`, but a matching implementation was not found in the linker: instance export `[method]logger.count` has the wrong type: function implementation is missing"} =
               Components.start_link(
                 bytes: component_bytes("component_host_resources"),
                 imports: imports
               )
    end
  end

  describe "Instance.call/4 with an imported resource" do
    test "the resource's callbacks run in the calling process" do
      test = self()
      {:ok, store} = Store.new_wasi()
      assert {:ok, component} = Component.new(store, component_bytes("component_host_resources"))

      imports =
        logging_imports(test, %{
          "logger" => {:resource, fn logger -> send(test, {:dropped, logger, self()}) && :ok end}
        })

      assert {:ok, instance} = Instance.new(store, component, imports)
      assert {:ok, "a: hello"} = Instance.call(instance, "use-logger", ["a: ", "hello"])
      assert_receive {:created, logger}
      assert_receive {:dropped, ^logger, ^test}
      assert {:ok, "consumed g: "} = Instance.call(instance, "give-logger", ["g: "])
      refute_receive {:dropped, _, _}
    end
  end
end
