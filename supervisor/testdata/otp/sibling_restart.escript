#!/usr/bin/env escript
%%! -noshell
-module(t).
-mode(compile).
-behaviour(supervisor).
-export([main/1, init/1, start_kid/2, kid_init/2]).

init({Strategy, Kids}) ->
    {ok, {#{strategy => Strategy, intensity => 10, period => 10},
          [#{id => Id, start => {?MODULE, start_kid, [Id, self()]}, restart => R, shutdown => 1000} || {Id, R} <- Kids]}}.

start_kid(Id, _) -> proc_lib:start_link(?MODULE, kid_init, [Id, whereis(tracer)]).
kid_init(Id, Tr) -> Tr ! {start, Id}, proc_lib:init_ack({ok, self()}), register(Id, self()), loop(Id, Tr).
loop(Id, Tr) -> receive {exit, R} -> exit(R) end.

collect(Acc) -> receive {start, Id} -> collect([Id|Acc]) after 200 -> lists:reverse(Acc) end.

scenario(Name, Strategy, Kids, Steps) ->
    {ok, Sup} = supervisor:start_link(?MODULE, {Strategy, Kids}),
    First = collect([]),
    Rest = [begin whereis(Id) ! {exit, R}, collect([]) end || {Id, R} <- Steps],
    io:format("~s: initial ~p, after ~p~n", [Name, First, Rest]),
    unlink(Sup), exit(Sup, shutdown), timer:sleep(100).

main(_) ->
    register(tracer, self()),
    process_flag(trap_exit, true),
    scenario("one_for_all transient b exits normal, then a fails", one_for_all, [{a, permanent}, {b, transient}, {c, permanent}], [{b, normal}, {a, boom}]),
    scenario("rest_for_one transient c exits normal, then b fails", rest_for_one, [{a, permanent}, {b, permanent}, {c, transient}], [{c, normal}, {b, boom}]),
    scenario("rest_for_one transient a exits normal, then b fails", rest_for_one, [{a, transient}, {b, permanent}, {c, permanent}], [{a, normal}, {b, boom}]),
    scenario("rest_for_one b fails", rest_for_one, [{a, permanent}, {b, permanent}, {c, permanent}, {d, permanent}], [{b, boom}]).
