package auth

import (
	"context"

	"github.com/streamauth/streamauth/internal/record"
	"github.com/streamauth/streamauth/keys"
)

// CreateAccount creates an account. Its name is free text (see
// [keys.CheckDisplayName]); it need not be unique.
func (e *Engine) CreateAccount(ctx context.Context, name string) (Account, error) {
	if err := keys.CheckDisplayName(name); err != nil {
		return Account{}, invalid("account name", err)
	}
	var rec record.Account
	err := e.update(ctx, func(b *write) error {
		id, err := keys.NewAccountID()
		if err != nil {
			return err
		}
		rec = record.Account{ID: id, Created: e.nowNano(), Name: name}
		k := record.AccountKey(id)
		b.RequireAbsent(k).Put(k, record.AppendAccount(nil, &rec))
		return nil
	})
	if err != nil {
		return Account{}, err
	}
	return accountOf(&rec), nil
}

// GetAccount returns an account, or ErrNotFound.
func (e *Engine) GetAccount(ctx context.Context, id keys.AccountID) (Account, error) {
	rec, _, err := e.readAccount(ctx, id)
	if err != nil {
		return Account{}, err
	}
	return accountOf(&rec), nil
}

// ListAccounts returns every account, ordered by id.
func (e *Engine) ListAccounts(ctx context.Context) ([]Account, error) {
	var out []Account
	err := e.s.Scan(ctx, record.AccountsPrefix(), func(k, v []byte) error {
		var id keys.AccountID
		if err := id.SetBytes(k[1:]); err != nil {
			return err
		}
		rec, err := record.DecodeAccount(id, v)
		if err != nil {
			return err
		}
		out = append(out, accountOf(&rec))
		return nil
	})
	return out, err
}

// CreateWorkspace creates a workspace in an account.
func (e *Engine) CreateWorkspace(ctx context.Context, account keys.AccountID, name string) (Workspace, error) {
	if err := keys.CheckDisplayName(name); err != nil {
		return Workspace{}, invalid("workspace name", err)
	}
	var rec record.Workspace
	err := e.update(ctx, func(b *write) error {
		_, raw, err := e.readAccount(ctx, account)
		if err != nil {
			return err
		}
		id, err := keys.NewWorkspaceID()
		if err != nil {
			return err
		}
		rec = record.Workspace{ID: id, Account: account, Created: e.nowNano(), Name: name}
		k := record.WorkspaceKey(id)
		b.RequireValue(record.AccountKey(account), raw).RequireAbsent(k)
		b.Put(k, record.AppendWorkspace(nil, &rec))
		b.Put(record.AccountWorkspaceKey(account, id), nil)
		return nil
	})
	if err != nil {
		return Workspace{}, err
	}
	return workspaceOf(&rec), nil
}

// GetWorkspace returns a workspace, or ErrNotFound.
func (e *Engine) GetWorkspace(ctx context.Context, id keys.WorkspaceID) (Workspace, error) {
	rec, _, err := e.readWorkspace(ctx, id)
	if err != nil {
		return Workspace{}, err
	}
	return workspaceOf(&rec), nil
}

// ListWorkspaces returns the workspaces of an account, ordered by id.
func (e *Engine) ListWorkspaces(ctx context.Context, account keys.AccountID) ([]Workspace, error) {
	if _, _, err := e.readAccount(ctx, account); err != nil {
		return nil, err
	}
	var out []Workspace
	err := scanIDs(ctx, e, record.WorkspacesPrefix(account), func(id keys.WorkspaceID) error {
		rec, _, err := e.readWorkspace(ctx, id)
		if err != nil {
			return err
		}
		out = append(out, workspaceOf(&rec))
		return nil
	})
	return out, err
}

func (e *Engine) readAccount(ctx context.Context, id keys.AccountID) (record.Account, []byte, error) {
	if id.IsZero() {
		return record.Account{}, nil, invalid("no account id", nil)
	}
	raw, err := e.get(ctx, record.AccountKey(id), "account")
	if err != nil {
		return record.Account{}, nil, err
	}
	rec, err := record.DecodeAccount(id, raw)
	return rec, raw, err
}

// readWorkspaceScope reads what an authorization needs of workspace id:
// the record without its name, with no allocation.
func (e *Engine) readWorkspaceScope(ctx context.Context, id keys.WorkspaceID) (record.Workspace, error) {
	if id.IsZero() {
		return record.Workspace{}, invalid("no workspace id", nil)
	}
	kb := e.keyBufs.Get().(*keyBuf)
	raw, err := e.get(ctx, record.WorkspaceKeyTo(&kb.b, id), "workspace")
	e.keyBufs.Put(kb)
	if err != nil {
		return record.Workspace{}, err
	}
	return record.DecodeWorkspaceScope(id, raw)
}

func (e *Engine) readWorkspace(ctx context.Context, id keys.WorkspaceID) (record.Workspace, []byte, error) {
	if id.IsZero() {
		return record.Workspace{}, nil, invalid("no workspace id", nil)
	}
	raw, err := e.get(ctx, record.WorkspaceKey(id), "workspace")
	if err != nil {
		return record.Workspace{}, nil, err
	}
	rec, err := record.DecodeWorkspace(id, raw)
	return rec, raw, err
}

func accountOf(r *record.Account) Account {
	return Account{ID: r.ID, Name: r.Name, CreatedAt: timeOf(r.Created)}
}

func workspaceOf(r *record.Workspace) Workspace {
	return Workspace{ID: r.ID, Account: r.Account, Name: r.Name, CreatedAt: timeOf(r.Created)}
}
