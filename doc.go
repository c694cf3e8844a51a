// Package streamauth is the auth core of a Kafka-compatible,
// bring-your-own-cloud streaming platform: an embedded Go library that
// issues and checks API keys, and that lets each agent check its Kafka
// clients offline.
//
// This package holds no code; it is the map. Start here:
//
//   - [github.com/streamauth/streamauth/auth]: the Engine. Create accounts,
//     workspaces, virtual clusters and API keys; authenticate a secret into
//     a Principal; authorize it for a public-API action or an agent
//     operation; revoke.
//   - [github.com/streamauth/streamauth/keys]: the formats of identifiers
//     (aci_, wsi_, vci_, aki_, cci_), key names (akn_) and secrets (aks_),
//     and the Secret type that never prints itself.
//   - [github.com/streamauth/streamauth/cluster]: cluster types (BYOC,
//     serverless) and their SASL policy.
//   - [github.com/streamauth/streamauth/store]: the small ordered key-value
//     interface every backend implements; [github.com/streamauth/streamauth/store/memstore]
//     is the in-memory one, and storetest the suite every backend passes.
//
// # Quick start
//
//	ctx := context.Background()
//	e, _ := auth.New(ctx, memstore.New(), auth.Options{})
//	acct, _ := e.CreateAccount(ctx, "Acme")
//	ws, _ := e.CreateWorkspace(ctx, acct.ID, "prod")
//	app, _ := e.CreateApplicationKey(ctx, ws.ID, "akn_ci", time.Time{})
//	fmt.Println(app.Secret.Reveal()) // shown once; store it in the caller's vault
//	p, err := e.AuthenticateAPI(ctx, app.Secret.Reveal(), auth.Target{Workspace: ws.ID})
//
// The runnable version is examples/quickstart: go run ./examples/quickstart.
package streamauth
