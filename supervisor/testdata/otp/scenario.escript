#!/usr/bin/env escript
%%! -noshell
%% Runs one scenario with Erlang/OTP's supervisor and prints the children
%% started, one line at first and one line after each step.
%%
%%   escript scenario.escript STRATEGY CHILDREN STEPS
%%
%% STRATEGY is one_for_one, one_for_all or rest_for_one; CHILDREN is
%% id:restart,... (restart: permanent, transient, temporary); STEPS is
%% id:reason,... where reason is normal or boom, the child's exit reason.
%% A step's starts are collected until none came for 100ms: the starts are
%% made by the supervisor's process, which gives no other signal that a
%% restart is over. supervisor_test.go compares the output with troupe's.
-module(scenario).
-mode(compile).
-behaviour(supervisor).
-export([main/1, init/1, start_kid/2, kid_init/2]).

init({Strategy, Kids}) ->
    {ok, {#{strategy => Strategy, intensity => 100, period => 10},
          [#{id => Id, start => {?MODULE, start_kid, [Id, R]}, restart => R, shutdown => 1000}
           || {Id, R} <- Kids]}}.

start_kid(Id, _) -> proc_lib:start_link(?MODULE, kid_init, [Id, whereis(tracer)]).

kid_init(Id, Tracer) ->
    Tracer ! {start, Id},
    register(Id, self()),
    proc_lib:init_ack({ok, self()}),
    receive {exit, Reason} -> exit(Reason) end.

collect(Acc) ->
    receive {start, Id} -> collect([Id | Acc])
    after 100 -> lists:reverse(Acc)
    end.

pairs(S) ->
    [list_to_tuple([list_to_atom(X) || X <- string:split(P, ":")]) || P <- string:split(S, ",", all), P =/= ""].

line(Ids) -> io:format("~s~n", [lists:join(" ", [atom_to_list(I) || I <- Ids])]).

main([Strategy, Kids, Steps]) ->
    register(tracer, self()),
    process_flag(trap_exit, true),
    logger:set_primary_config(level, none),
    {ok, Sup} = supervisor:start_link(?MODULE, {list_to_atom(Strategy), pairs(Kids)}),
    line(collect([])),
    [begin whereis(Id) ! {exit, Reason}, line(collect([])) end || {Id, Reason} <- pairs(Steps)],
    unlink(Sup),
    exit(Sup, shutdown).
